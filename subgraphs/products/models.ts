/** The products subgraph's data: each tenant's catalogue. */
import { Schema, type Connection, type Types } from 'mongoose';
import { tenantPlugin } from '../kit/tenant-plugin';

export interface ProductRecord {
  _id: Types.ObjectId;
  tenantId: string;
  /** Unique within the tenant; two tenants may use the same SKU. */
  sku: string;
  name: string;
  /** Cents. */
  price: number;
  /** Grams. */
  weight: number;
  /** Cents; not settable through the graph. */
  costPrice?: number | null;
}

export const SKU_PATTERN = /^[A-Z0-9](?:[A-Z0-9-]{0,38}[A-Z0-9])?$/;
export const MAX_NAME_LENGTH = 200;
/** Upper bounds that keep prices and weights meaningful and far from 32-bit overflow in sums. */
export const MAX_PRICE = 100_000_000;
export const MAX_WEIGHT = 10_000_000;

export function createProductsModels(connection: Connection) {
  const productSchema = new Schema<ProductRecord>(
    {
      sku: { type: String, required: true, match: SKU_PATTERN },
      name: { type: String, required: true, maxlength: MAX_NAME_LENGTH },
      price: { type: Number, required: true, min: 0, max: MAX_PRICE },
      weight: { type: Number, required: true, min: 0, max: MAX_WEIGHT },
      costPrice: { type: Number, min: 0, max: MAX_PRICE },
    },
    { collection: 'products', versionKey: false },
  );
  productSchema.plugin(tenantPlugin);
  productSchema.index({ tenantId: 1, sku: 1 }, { unique: true });
  return { Product: connection.model<ProductRecord>('Product', productSchema) };
}

export type ProductsModels = ReturnType<typeof createProductsModels>;

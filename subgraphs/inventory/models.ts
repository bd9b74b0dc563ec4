/** The inventory subgraph's data: one stock document per tenant and product. */
import { Schema, type Connection, type Types } from 'mongoose';
import { tenantPlugin } from '../kit/tenant-plugin';

export interface StockRecord {
  _id: Types.ObjectId;
  tenantId: string;
  /** The product's id in the products subgraph. */
  productId: Types.ObjectId;
  quantity: number;
}

/**
 * The parent of inventory's Product fields: the product's id, the `price` and `weight` the gateway supplies for
 * `@requires` (absent when the query does not need them), and the product's stock (null when it never had any).
 */
export interface StockedProduct {
  id: string;
  price?: number;
  weight?: number;
  stock: StockRecord | null;
}

export function createInventoryModels(connection: Connection) {
  const stockSchema = new Schema<StockRecord>(
    {
      productId: { type: Schema.Types.ObjectId, required: true, immutable: true },
      // No default: an upsert's `$inc` must be the only writer of a new document's quantity.
      quantity: { type: Number, required: true, min: 0 },
    },
    { collection: 'stock', versionKey: false },
  );
  stockSchema.plugin(tenantPlugin);
  stockSchema.index({ tenantId: 1, productId: 1 }, { unique: true });
  return { Stock: connection.model<StockRecord>('Stock', stockSchema) };
}

export type InventoryModels = ReturnType<typeof createInventoryModels>;

import mongoose, { Types } from 'mongoose';
import { isObjectIdHex } from '../../common/ids';
import { badInput, isDuplicateKeyError, notFound } from '../kit/errors';
import { callerOf } from '../kit/permissions';
import { KeyedSerializer } from '../kit/serialize';
import type { Resolvers } from './generated/resolvers-types';
import type { InventoryModels, StockRecord } from './models';

export const MAX_STOCK_DELTA = 10_000;

/** Adjustments of one tenant's product, one at a time in this process (see KeyedSerializer for why). */
const stockWrites = new KeyedSerializer();

/** Orders from this price (cents) ship free. */
export const FREE_SHIPPING_FROM = 10_000;
export const SHIPPING_BASE = 499;
export const SHIPPING_PER_STARTED_100_G = 25;

/**
 * Shipping estimate in cents: free from FREE_SHIPPING_FROM, otherwise 4.99 plus 0.25 per started 100 g.
 * A 350 g product at 19.99 ships for 4.99 + 4 × 0.25 = 5.99.
 */
export function shippingEstimate(price: number, weight: number): number {
  if (price >= FREE_SHIPPING_FROM) return 0;
  return SHIPPING_BASE + Math.ceil(weight / 100) * SHIPPING_PER_STARTED_100_G;
}

/**
 * Applies `delta` in one update, atomic on MongoDB. A decrease carries its guard in the filter
 * (`quantity >= -delta`), so there is no read-then-write for two requests to interleave; an increase may create the
 * document. FerretDB does not apply updates atomically, hence `stockWrites` around the call.
 */
async function adjust(models: InventoryModels, productId: Types.ObjectId, delta: number): Promise<StockRecord | null> {
  const { Stock } = models;
  if (delta < 0) {
    return Stock.findOneAndUpdate(
      { productId, quantity: mongoose.trusted({ $gte: -delta }) },
      { $inc: { quantity: delta } },
      { returnDocument: 'after' },
    )
      .lean<StockRecord>()
      .exec();
  }
  const increase = (upsert: boolean) =>
    Stock.findOneAndUpdate({ productId }, { $inc: { quantity: delta } }, { returnDocument: 'after', upsert })
      .lean<StockRecord>()
      .exec();
  try {
    return await increase(true);
  } catch (error) {
    // Two first increases raced to insert; the loser's document exists now, so it updates.
    if (isDuplicateKeyError(error)) return increase(false);
    throw error;
  }
}

export const resolvers: Resolvers = {
  Mutation: {
    adjustStock: async (_parent, { productId, delta }, ctx) => {
      if (!isObjectIdHex(productId)) throw notFound('Product');
      if (!Number.isInteger(delta) || Math.abs(delta) > MAX_STOCK_DELTA) {
        throw badInput(`"delta" must be an integer from -${MAX_STOCK_DELTA} to ${MAX_STOCK_DELTA}`);
      }
      const { tenantId } = callerOf(ctx);
      const stock = await stockWrites.run(`${tenantId}:${productId}`, () =>
        adjust(ctx.models, new Types.ObjectId(productId), delta),
      );
      if (!stock) throw badInput('Stock cannot go below zero');
      ctx.loaders.stockByProductId.clear(productId).prime(productId, stock);
      return { id: productId, stock };
    },
  },
  Product: {
    __resolveReference: async (reference, ctx) => {
      if (!isObjectIdHex(reference.id)) return null;
      const stock = await ctx.loaders.stockByProductId.load(reference.id);
      return 'price' in reference
        ? { id: reference.id, price: reference.price, weight: reference.weight, stock }
        : { id: reference.id, stock };
    },
    id: (product) => product.id,
    inStock: (product) => (product.stock?.quantity ?? 0) > 0,
    quantity: (product) => product.stock?.quantity ?? 0,
    shippingEstimate: (product) =>
      product.price === undefined || product.weight === undefined
        ? null
        : shippingEstimate(product.price, product.weight),
  },
};

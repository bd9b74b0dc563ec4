import { Types } from 'mongoose';
import { isObjectIdHex } from '../../common/ids';
import { badInput, notFound, withDuplicateKeyAs } from '../kit/errors';
import { paginate, parsePage } from '../kit/pagination';
import type { Resolvers } from './generated/resolvers-types';
import { MAX_NAME_LENGTH, MAX_PRICE, MAX_WEIGHT, SKU_PATTERN, type ProductRecord } from './models';

function validName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0 || name.length > MAX_NAME_LENGTH)
    throw badInput(`"name" must be 1–${MAX_NAME_LENGTH} characters`);
  return name;
}

function validAmount(value: number, field: string, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw badInput(`"${field}" must be an integer from 0 to ${max}`);
  return value;
}

export const resolvers: Resolvers = {
  Query: {
    product: async (_parent, { id }, ctx) => {
      const product = isObjectIdHex(id) ? await ctx.loaders.productById.load(id) : null;
      if (!product) throw notFound('Product');
      return product;
    },
    products: (_parent, args, ctx) => paginate(ctx.models.Product, {}, parsePage(args)),
  },
  Mutation: {
    createProduct: async (_parent, { input }, ctx) => {
      const sku = input.sku.trim();
      if (!SKU_PATTERN.test(sku)) throw badInput('"sku" must be 1–40 upper-case letters, digits or inner hyphens');
      const fields = {
        sku,
        name: validName(input.name),
        price: validAmount(input.price, 'price', MAX_PRICE),
        weight: validAmount(input.weight, 'weight', MAX_WEIGHT),
      };
      const product = await withDuplicateKeyAs('A product with this SKU already exists', () =>
        ctx.models.Product.create(fields),
      );
      return product.toObject<ProductRecord>();
    },
    updateProduct: async (_parent, { id, input }, ctx) => {
      if (!isObjectIdHex(id)) throw notFound('Product');
      // Absent and null both leave a field as it is: none of these fields may be cleared.
      const changes: Partial<Pick<ProductRecord, 'name' | 'price' | 'weight'>> = {};
      if (input.name != null) changes.name = validName(input.name);
      if (input.price != null) changes.price = validAmount(input.price, 'price', MAX_PRICE);
      if (input.weight != null) changes.weight = validAmount(input.weight, 'weight', MAX_WEIGHT);
      const _id = new Types.ObjectId(id);
      // One atomic write whose filter carries the tenant (added by the plugin): another tenant's id matches nothing.
      const product =
        Object.keys(changes).length === 0
          ? await ctx.models.Product.findOne({ _id }).lean<ProductRecord>().exec()
          : await ctx.models.Product.findOneAndUpdate(
              { _id },
              { $set: changes },
              { returnDocument: 'after', runValidators: true },
            )
              .lean<ProductRecord>()
              .exec();
      if (!product) throw notFound('Product');
      ctx.loaders.productById.clear(id).prime(id, product);
      return product;
    },
  },
  Product: {
    __resolveReference: (reference, ctx) =>
      isObjectIdHex(reference.id) ? ctx.loaders.productById.load(reference.id) : null,
    id: (product) => product._id.toHexString(),
    sku: (product) => product.sku,
    name: (product) => product.name,
    price: (product) => product.price,
    weight: (product) => product.weight,
    costPrice: (product) => product.costPrice ?? null,
  },
};

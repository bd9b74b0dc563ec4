import type { GraphQLResolveInfo } from 'graphql';
import { Types } from 'mongoose';
import { isObjectIdHex } from '../../common/ids';
import { badInput, forbidden, notFound } from '../kit/errors';
import { parsePage } from '../kit/pagination';
import { callerOf } from '../kit/permissions';
import { selectedDocumentPaths } from '../kit/selection';
import { hasRole } from '../kit/scope';
import type { Resolvers } from './generated/resolvers-types';
import { MAX_BODY_LENGTH, MAX_RATING, MIN_RATING, type ReviewRecord } from './models';

/** What each field of Review reads from its document: the projection of connection pages. */
const REVIEW_PATHS: Record<string, string | null> = {
  __typename: null,
  id: '_id',
  body: 'body',
  rating: 'rating',
  author: 'authorId',
  product: 'productId',
};
const reviewFields = (info: GraphQLResolveInfo) => selectedDocumentPaths(info, ['edges', 'node'], REVIEW_PATHS);

export const resolvers: Resolvers = {
  Mutation: {
    addReview: async (_parent, { input }, ctx) => {
      const { principal } = callerOf(ctx);
      // Reviews are written by users; an API key's principal is not one.
      if (!isObjectIdHex(principal)) throw forbidden();
      if (!isObjectIdHex(input.productId)) throw notFound('Product');
      if (!Number.isInteger(input.rating) || input.rating < MIN_RATING || input.rating > MAX_RATING) {
        throw badInput(`"rating" must be an integer from ${MIN_RATING} to ${MAX_RATING}`);
      }
      const body = input.body.trim();
      if (body.length === 0 || body.length > MAX_BODY_LENGTH)
        throw badInput(`"body" must be 1–${MAX_BODY_LENGTH} characters`);
      const review = await ctx.models.Review.create({
        productId: new Types.ObjectId(input.productId),
        authorId: new Types.ObjectId(principal),
        rating: input.rating,
        body: await ctx.cipher.seal(callerOf(ctx).tenantId, 'reviews.body', body),
      });
      return review.toObject<ReviewRecord>();
    },
    deleteReview: async (_parent, { id }, ctx) => {
      const caller = callerOf(ctx);
      const isAdmin = hasRole(caller, 'admin');
      if (!isObjectIdHex(id) || (!isAdmin && !isObjectIdHex(caller.principal))) throw notFound('Review');
      // One atomic delete whose filter carries the authorization: someone else's review matches nothing, exactly
      // like a missing one or another tenant's, so the answer cannot tell them apart.
      const filter = isAdmin
        ? { _id: new Types.ObjectId(id) }
        : { _id: new Types.ObjectId(id), authorId: new Types.ObjectId(caller.principal) };
      const deleted = await ctx.models.Review.findOneAndDelete(filter).lean<ReviewRecord>().exec();
      if (!deleted) throw notFound('Review');
      ctx.loaders.reviewById.clear(id);
      return id;
    },
  },
  Review: {
    __resolveReference: (reference, ctx) =>
      isObjectIdHex(reference.id) ? ctx.loaders.reviewById.load(reference.id) : null,
    id: (review) => review._id.toHexString(),
    // Opened only when selected (REVIEW_PATHS keeps unselected bodies out of the page's projection too).
    body: (review, _args, ctx) => ctx.cipher.open(callerOf(ctx).tenantId, 'reviews.body', review.body),
    rating: (review) => review.rating,
    author: (review) => ({ id: review.authorId.toHexString() }),
    product: (review) => ({ id: review.productId.toHexString() }),
  },
  User: {
    // Reviews does not know which users exist; an unknown or foreign id simply has no reviews in this tenant.
    __resolveReference: (reference) => ({ id: reference.id }),
    id: (user) => user.id,
    reviews: (user, args, ctx, info) =>
      ctx.loaders.reviewsByAuthor.load({ id: user.id, page: parsePage(args), fields: reviewFields(info) }),
  },
  Product: {
    __resolveReference: (reference) => ({ id: reference.id }),
    id: (product) => product.id,
    reviews: (product, args, ctx, info) =>
      ctx.loaders.reviewsByProduct.load({ id: product.id, page: parsePage(args), fields: reviewFields(info) }),
  },
};

import { parse } from 'graphql';
import { readSubgraphSdl } from '../catalog';
import type { SubgraphDefinition } from '../kit/server';
import { createReviewsLoaders, type ReviewsLoaders } from './context';
import { REVIEWS_ENCRYPTED, createReviewsModels, type ReviewsModels } from './models';
import { permissions } from './permissions';
import { resolvers } from './resolvers';

export const reviews: SubgraphDefinition<ReviewsModels, ReviewsLoaders> = {
  name: 'reviews',
  typeDefs: parse(readSubgraphSdl('reviews')),
  resolvers,
  models: createReviewsModels,
  createLoaders: createReviewsLoaders,
  permissions,
  encrypted: REVIEWS_ENCRYPTED,
  // Reviews are created with fresh ObjectIds: their age is known, so retention rules may sweep them.
  platform: { agedCollections: ['reviews'] },
};

import type DataLoader from 'dataloader';
import { createConnectionLoader, createLoaderBy, type ConnectionKey } from '../kit/loaders';
import type { Connection } from '../kit/pagination';
import type { SubgraphContext } from '../kit/server';
import type { ReviewRecord, ReviewsModels } from './models';

export interface ReviewsLoaders {
  reviewById: DataLoader<string, ReviewRecord | null>;
  reviewsByProduct: DataLoader<ConnectionKey, Connection<ReviewRecord>, string>;
  reviewsByAuthor: DataLoader<ConnectionKey, Connection<ReviewRecord>, string>;
}

export function createReviewsLoaders(models: ReviewsModels): ReviewsLoaders {
  return {
    reviewById: createLoaderBy(models.Review, '_id'),
    reviewsByProduct: createConnectionLoader(models.Review, 'productId', 'newest-first'),
    reviewsByAuthor: createConnectionLoader(models.Review, 'authorId', 'newest-first'),
  };
}

export type ReviewsContext = SubgraphContext<ReviewsModels, ReviewsLoaders>;

import type DataLoader from 'dataloader';
import type { BatchedConnectionKey } from '../kit/connection-loader';
import { createLoaderBy, createPageLoader, DEFAULT_LOADER_OPTIONS, type LoaderOptions } from '../kit/loaders';
import type { Connection } from '../kit/pagination';
import type { SubgraphContext } from '../kit/server';
import type { ReviewRecord, ReviewsModels } from './models';

export interface ReviewsLoaders {
  reviewById: DataLoader<string, ReviewRecord | null>;
  reviewsByProduct: DataLoader<BatchedConnectionKey, Connection<ReviewRecord>, string>;
  reviewsByAuthor: DataLoader<BatchedConnectionKey, Connection<ReviewRecord>, string>;
}

export function createReviewsLoaders(
  models: ReviewsModels,
  options: LoaderOptions = DEFAULT_LOADER_OPTIONS,
): ReviewsLoaders {
  const mode = options.connectionLoader;
  return {
    reviewById: createLoaderBy(models.Review, '_id', options.onBatch),
    reviewsByProduct: createPageLoader(models.Review, 'productId', 'newest-first', mode, options.onBatch),
    reviewsByAuthor: createPageLoader(models.Review, 'authorId', 'newest-first', mode, options.onBatch),
  };
}

export type ReviewsContext = SubgraphContext<ReviewsModels, ReviewsLoaders>;

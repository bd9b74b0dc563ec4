/** The reviews subgraph's data: reviews of a tenant's products by the tenant's users. */
import { Schema, type Connection, type Types } from 'mongoose';
import { tenantPlugin } from '../kit/tenant-plugin';

export interface ReviewRecord {
  _id: Types.ObjectId;
  tenantId: string;
  productId: Types.ObjectId;
  authorId: Types.ObjectId;
  rating: number;
  /** Sealed as `reviews.body` when encryption is on (kit/encryption). */
  body: string;
}

/** A User or Product as reviews knows it: only its key, resolved by the subgraph that owns it. */
export interface EntityStub {
  id: string;
}

export const MIN_RATING = 1;
export const MAX_RATING = 5;
export const MAX_BODY_LENGTH = 2000;

/** What `tollgate migrate` and key rotation re-encrypt here (kit/encryption/reencrypt.ts). */
export const REVIEWS_ENCRYPTED = [{ collection: 'reviews', fields: ['body'] }] as const;

export function createReviewsModels(connection: Connection) {
  const reviewSchema = new Schema<ReviewRecord>(
    {
      productId: { type: Schema.Types.ObjectId, required: true, immutable: true },
      authorId: { type: Schema.Types.ObjectId, required: true, immutable: true },
      rating: { type: Number, required: true, min: MIN_RATING, max: MAX_RATING },
      // 1–MAX_BODY_LENGTH characters is checked on the clear text by the resolver; this holds ciphertext.
      body: { type: String, required: true, minlength: 1 },
    },
    { collection: 'reviews', versionKey: false },
  );
  reviewSchema.plugin(tenantPlugin);
  // Newest first per product and per author: the two connections page along these.
  reviewSchema.index({ tenantId: 1, productId: 1, _id: -1 });
  reviewSchema.index({ tenantId: 1, authorId: 1, _id: -1 });
  return { Review: connection.model<ReviewRecord>('Review', reviewSchema) };
}

export type ReviewsModels = ReturnType<typeof createReviewsModels>;

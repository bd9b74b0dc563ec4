import { federationQueryRules, isMember, serviceRules, type PermissionRules } from '../kit/permissions';

export const permissions: PermissionRules = {
  Query: { ...federationQueryRules },
  // Any member may write a review as themself; deleting is author-or-admin, decided by the resolver's atomic filter
  // because the rule would need the review, and a separate read would race with the delete.
  Mutation: { addReview: isMember, deleteReview: isMember },
  Review: { id: isMember, body: isMember, rating: isMember, author: isMember, product: isMember },
  User: { id: isMember, reviews: isMember },
  Product: { id: isMember, reviews: isMember },
  ReviewConnection: { edges: isMember, pageInfo: isMember },
  ReviewEdge: { cursor: isMember, node: isMember },
  PageInfo: { hasNextPage: isMember, endCursor: isMember },
  _Service: serviceRules,
};

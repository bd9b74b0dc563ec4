import { federationQueryRules, isAdminOrStaff, isMember, serviceRules, type PermissionRules } from '../kit/permissions';

export const permissions: PermissionRules = {
  Query: { product: isMember, products: isMember, ...federationQueryRules },
  Mutation: { createProduct: isAdminOrStaff, updateProduct: isAdminOrStaff },
  Product: {
    id: isMember,
    sku: isMember,
    name: isMember,
    price: isMember,
    weight: isMember,
    costPrice: isAdminOrStaff,
  },
  ProductConnection: { edges: isMember, pageInfo: isMember },
  ProductEdge: { cursor: isMember, node: isMember },
  PageInfo: { hasNextPage: isMember, endCursor: isMember },
  _Service: serviceRules,
};

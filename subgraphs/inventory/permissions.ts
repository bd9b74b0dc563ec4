import { federationQueryRules, isAdminOrStaff, isMember, serviceRules, type PermissionRules } from '../kit/permissions';

export const permissions: PermissionRules = {
  Query: { ...federationQueryRules },
  Mutation: { adjustStock: isAdminOrStaff },
  // `price` and `weight` are external: owned by products, present here only as inputs to `shippingEstimate`.
  Product: {
    id: isMember,
    price: isMember,
    weight: isMember,
    inStock: isMember,
    quantity: isMember,
    shippingEstimate: isMember,
  },
  _Service: serviceRules,
};

/** Shared helpers for walking a parsed GraphQL document; see each module. */
export { fragmentsOf, type FragmentMap } from './fragments';
export { argumentValue, variableDefaults, variableValue, type VariableRef, type Variables } from './variables';
export { conditionsOf, isIncluded, isSkipped, type Condition } from './conditions';
export { documentKey, queryHashOf } from './key';

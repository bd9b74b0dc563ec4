/**
 * Decision plans: what a request of one document with given variable values asks the rules — each distinct
 * decision (a rule and its argument values, with a resolve info) and which decision answers each check. The gate
 * builds one per document and variable values (gate.ts, `decisionPlan`) and keeps it (gate-cache.ts); this module
 * holds the plan's shape and the pieces it is made of.
 */
import {
  GraphQLError,
  Kind,
  getArgumentValues,
  getVariableValues,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
} from 'graphql';
import { ErrorCode, gatewayError } from '../errors';
import { MAX_INPUT_NESTING, jsonDepthExceeds } from '../http/json-depth';
import type { FieldCheck, OperationAnalysis, SelectedField } from './analysis';
import type { ShieldRule } from './shield';

/** Variables whose key is longer than this (big inputs, long lists) get no plan kept: they seldom repeat. */
export const MAX_VARIABLES_KEY_LENGTH = 1_024;

export interface DecisionPlan {
  readonly analysis: OperationAnalysis;
  /** Each is copied for the rule that gets it: the plan serves every later request. */
  readonly decisions: readonly {
    readonly rule: ShieldRule;
    readonly args: Record<string, unknown>;
    readonly info: GraphQLResolveInfo;
  }[];
  readonly checks: readonly { readonly field: SelectedField; readonly check: FieldCheck; readonly decision: number }[];
}

export function resolveInfo(
  schema: GraphQLSchema,
  analysis: OperationAnalysis,
  fragments: Record<string, FragmentDefinitionNode>,
  field: SelectedField,
  check: FieldCheck,
  variableValues: Record<string, unknown>,
): GraphQLResolveInfo {
  let path: GraphQLResolveInfo['path'] | undefined;
  for (const step of field.occurrences[0]?.path ?? []) path = { prev: path, key: step.key, typename: undefined };
  return {
    fieldName: check.fieldDef.name,
    fieldNodes: [field.node],
    returnType: check.fieldDef.type,
    parentType: check.parentType,
    path: path ?? { prev: undefined, key: field.node.alias?.value ?? field.fieldName, typename: undefined },
    schema,
    fragments,
    rootValue: undefined,
    operation: analysis.operation,
    variableValues,
  };
}

export function coerceVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  raw: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const { coerced, errors } = getVariableValues(schema, operation.variableDefinitions ?? [], raw, { maxErrors: 1 });
  if (errors) throw gatewayError(ErrorCode.BAD_USER_INPUT, errors[0]?.message ?? 'Invalid variables.');
  return coerced;
}

export function argumentValues(
  fieldDef: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Record<string, unknown>,
): Record<string, unknown> {
  try {
    return getArgumentValues(fieldDef, node, variables);
  } catch (error) {
    // Validation passed, so what fails here is a variable's value (an explicit null for a non-null argument).
    if (error instanceof GraphQLError) throw gatewayError(ErrorCode.BAD_USER_INPUT, error.message);
    throw error;
  }
}

export function containsVariable(value: ValueNode): boolean {
  switch (value.kind) {
    case Kind.VARIABLE:
      return true;
    case Kind.LIST:
      return value.values.some(containsVariable);
    case Kind.OBJECT:
      return value.fields.some((field) => containsVariable(field.value));
    default:
      return false;
  }
}

/** Argument names are GraphQL names: never integer-like, so sorting them is the order an object would keep. */
const INTEGER_LIKE = /^\d/;

/** The same argument values give the same key whatever order their object keys came in. */
export function stableKey(value: unknown): string {
  // Fast path, same output: a flat object of strings, booleans, finite numbers and nulls — most arguments.
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 0) return '{}';
    let flat = true;
    for (const key of keys) {
      const v = record[key];
      if (
        INTEGER_LIKE.test(key) ||
        !(
          v === null ||
          typeof v === 'string' ||
          typeof v === 'boolean' ||
          (typeof v === 'number' && Number.isFinite(v))
        )
      ) {
        flat = false;
        break;
      }
    }
    if (flat) {
      keys.sort();
      let out = '{';
      for (let i = 0; i < keys.length; i += 1)
        out += `${i ? ',' : ''}${JSON.stringify(keys[i])}:${JSON.stringify(record[keys[i]!])}`;
      return `${out}}`;
    }
  }
  // JSON.stringify recurses: a value deeper than any body may be (input/json-depth.ts) is refused, not overflowed.
  if (jsonDepthExceeds(value, MAX_INPUT_NESTING))
    throw gatewayError(ErrorCode.BAD_USER_INPUT, 'A value is nested too deeply.');
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

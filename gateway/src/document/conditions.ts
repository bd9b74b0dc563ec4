/**
 * `@skip` / `@include`, read one way by every walk: a selection is left out when `@skip(if:)` is true or
 * `@include(if:)` is false, the `if` valued by the one rule of variables.ts (a literal, the provided variable, the
 * operation's default). What does not depend on the request (literals) is read once by `conditionsOf`, so a
 * compiled plan keeps only the variable part; `isIncluded` does both for a walk made per request.
 */
import { Kind, type ConstDirectiveNode, type DirectiveNode, type SelectionNode } from 'graphql';
import { variableValue, type VariableRef, type Variables } from './variables';

/** `@skip(if: $v)` (skipWhen true) or `@include(if: $v)` (skipWhen false). */
export interface Condition {
  readonly variable: VariableRef;
  readonly skipWhen: boolean;
}

const NO_CONDITIONS: readonly Condition[] = [];

/** 'skipped' when a literal already leaves the selection out; otherwise the conditions left to the variables. */
export function conditionsOf(
  directives: readonly (DirectiveNode | ConstDirectiveNode)[] | undefined,
  defaults: ReadonlyMap<string, unknown>,
): readonly Condition[] | 'skipped' {
  if (!directives || directives.length === 0) return NO_CONDITIONS;
  let conditions: Condition[] | undefined;
  for (const directive of directives) {
    const skipWhen = directive.name.value === 'skip' ? true : directive.name.value === 'include' ? false : undefined;
    if (skipWhen === undefined) continue;
    const value = directive.arguments?.find((a) => a.name.value === 'if')?.value;
    if (value?.kind === Kind.BOOLEAN) {
      if (value.value === skipWhen) return 'skipped';
    } else if (value?.kind === Kind.VARIABLE) {
      const name = value.name.value;
      (conditions ??= []).push({
        variable: { name, operationDefault: defaults.get(name), argumentDefault: undefined },
        skipWhen,
      });
    }
  }
  return conditions ?? NO_CONDITIONS;
}

export function isSkipped(conditions: readonly Condition[], variables: Variables): boolean {
  for (const condition of conditions)
    if (variableValue(condition.variable, variables) === condition.skipWhen) return true;
  return false;
}

/** Whether the selection is part of the operation for these variables. */
export function isIncluded(
  selection: SelectionNode,
  defaults: ReadonlyMap<string, unknown>,
  variables: Variables,
): boolean {
  if (!selection.directives?.length) return true;
  const conditions = conditionsOf(selection.directives, defaults);
  return conditions !== 'skipped' && !isSkipped(conditions, variables);
}

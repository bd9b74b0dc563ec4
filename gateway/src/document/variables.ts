/**
 * The value an argument or a directive's `if` takes for one request, by ONE rule shared by every stage that reads
 * values before execution (limits' list bounds, the cost estimator, @skip/@include in every walk) — GraphQL's own
 * coercion rule (spec, CoerceArgumentValues):
 *
 * 1. a literal is its value;
 * 2. a variable the request provides is its value — `null` included;
 * 3. a variable the request leaves out takes the operation's default (`$first: Int = 5`);
 * 4. failing that (and for an argument not written at all), the argument's default from the schema;
 * 5. failing that, the value is absent (`undefined`): the field runs without it.
 *
 * Stages decide what to do with a value that is absent or not what they expect; they do not decide where it comes
 * from.
 */
import { Kind, valueFromASTUntyped, type OperationDefinitionNode, type ValueNode } from 'graphql';

export type Variables = Readonly<Record<string, unknown>>;

/** A variable as a compiled plan keeps it, to be valued per request with `variableValue`. */
export interface VariableRef {
  readonly name: string;
  /** The operation's `$name: Int = 5`, as a plain value. */
  readonly operationDefault: unknown;
  /** The field argument's own default, used when the variable is not provided and has no default. */
  readonly argumentDefault: unknown;
}

const defaultsByOperation = new WeakMap<OperationDefinitionNode, ReadonlyMap<string, unknown>>();

/** The operation's declared variable defaults as plain values; computed once per operation node. */
export function variableDefaults(operation: OperationDefinitionNode): ReadonlyMap<string, unknown> {
  let defaults = defaultsByOperation.get(operation);
  if (!defaults) {
    const built = new Map<string, unknown>();
    for (const definition of operation.variableDefinitions ?? []) {
      if (definition.defaultValue)
        built.set(definition.variable.name.value, valueFromASTUntyped(definition.defaultValue));
    }
    defaultsByOperation.set(operation, (defaults = built));
  }
  return defaults;
}

/** Rules 2–5 for a variable. */
export function variableValue(ref: VariableRef, variables: Variables): unknown {
  if (Object.hasOwn(variables, ref.name)) return variables[ref.name];
  return ref.operationDefault !== undefined ? ref.operationDefault : ref.argumentDefault;
}

/**
 * Rules 1–5 for one argument of a field: `argument` is its value node as written (undefined when not written),
 * `argumentDefault` the schema's default for it.
 */
export function argumentValue(
  argument: ValueNode | undefined,
  argumentDefault: unknown,
  defaults: ReadonlyMap<string, unknown>,
  variables: Variables,
): unknown {
  if (!argument) return argumentDefault;
  if (argument.kind === Kind.VARIABLE) {
    const name = argument.name.value;
    return variableValue({ name, operationDefault: defaults.get(name), argumentDefault }, variables);
  }
  return valueFromASTUntyped(argument, variables);
}

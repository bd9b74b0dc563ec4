/**
 * Introspection (`__schema`, `__type`) for developers only, answered by the gateway from the caller's visible schema
 * (visible-schema.ts), never by the subgraphs and never from the full API schema.
 *
 * The stage runs before the plan's limits and the cost stage: an introspection operation is answered here without
 * a fetch, so the plan's depth limit (written for the graph; the standard introspection query is 15 deep) and its
 * cost do not apply to it. Its own bounds do: a depth cap, and at most three nested lists of schema elements on any
 * path (`types → fields → args` is what tools ask for), so `fields { type { fields { type … } } }` cannot multiply.
 * Introspection mixed with other root fields is refused: one half would come from the gateway, the other from the
 * subgraphs, under different limits and charges.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import {
  Kind,
  execute,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { AuthorizationGate } from '../authz/gate';
import { fragmentsOf } from '../document/fragments';
import { ErrorCode, gatewayError } from '../errors';
import type { GatewayContext, OperationRequest } from '../request';
import type { Stage } from '../pipeline/index';
import { measureOperation } from '../pipeline/limits';
import { maskError } from '../upstream/mask-errors';
import type { VisibleSchemas } from './visible-schema';

export const INTROSPECTION_MAX_DEPTH = 20;
export const INTROSPECTION_MAX_ALIASES = 10;
export const INTROSPECTION_MAX_LIST_NESTING = 3;
const SCHEMA_LISTS: ReadonlySet<string> = new Set([
  'types',
  'directives',
  'fields',
  'args',
  'inputFields',
  'interfaces',
  'possibleTypes',
  'enumValues',
]);
const META_FIELDS: ReadonlySet<string> = new Set(['__schema', '__type']);

type RootSelection = 'none' | 'introspection' | 'mixed';

/**
 * Answers per operation node: Apollo Server hands every request of a known query the same parsed document, and the
 * stages and the plugin ask five times per request.
 */
const rootSelections = new WeakMap<OperationDefinitionNode, RootSelection>();

/** Which kind of root fields the operation selects (fragments followed, `__typename` neutral). */
export function introspectionIn(document: DocumentNode, operation: OperationDefinitionNode): RootSelection {
  let kind = rootSelections.get(operation);
  if (kind === undefined) {
    kind = rootSelectionOf(document, operation);
    rootSelections.set(operation, kind);
  }
  return kind;
}

function rootSelectionOf(document: DocumentNode, operation: OperationDefinitionNode): RootSelection {
  const fragments = fragmentsOf(document);
  let meta = false;
  let other = false;
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (META_FIELDS.has(name)) meta = true;
        else if (name !== '__typename') other = true;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  if (!meta) return 'none';
  return other ? 'mixed' : 'introspection';
}

/** The shape Apollo Server gives its own refusal, which clients and tools already know. */
function introspectionDisabled() {
  return gatewayError(ErrorCode.GRAPHQL_VALIDATION_FAILED, 'GraphQL introspection is disabled.', {
    extensions: { validationErrorCode: 'INTROSPECTION_DISABLED' },
  });
}

export interface IntrospectionStageOptions {
  readonly gate: AuthorizationGate;
}

/**
 * Refuses introspection to callers the gate's introspection rule denies — in every authorization mode, `shadow`
 * included — and bounds what a permitted caller may ask. The stages meant for operations the subgraphs run are
 * wrapped with `exceptIntrospection`.
 */
export function createIntrospectionStage(options: IntrospectionStageOptions): Stage {
  return {
    name: 'introspection',
    async run(operation: OperationRequest) {
      const kind = introspectionIn(operation.document, operation.operation);
      if (kind === 'none') return;
      if (!(await options.gate.mayIntrospect(operation.caller))) throw introspectionDisabled();
      if (kind === 'mixed') {
        throw gatewayError(
          ErrorCode.BAD_REQUEST,
          'Introspection (__schema, __type) cannot be combined with other fields; send it as an operation of its own.',
        );
      }
      const shape = measureOperation(operation.document, operation.operation);
      const lists = listNesting(operation.document, operation.operation.selectionSet);
      const checks: readonly [string, number, number][] = [
        ['MAX_DEPTH_LIMIT', INTROSPECTION_MAX_DEPTH, shape.depth],
        ['MAX_DEPTH_LIMIT', INTROSPECTION_MAX_LIST_NESTING, lists],
        ['MAX_ALIASES_LIMIT', INTROSPECTION_MAX_ALIASES, shape.aliases],
      ];
      for (const [code, maximum, actual] of checks) {
        if (actual > maximum) {
          throw gatewayError(ErrorCode.GRAPHQL_VALIDATION_FAILED, 'The introspection query is too deep or too wide.', {
            extensions: { validationErrorCode: code, maximum, actual },
          });
        }
      }
    },
  };
}

/** The stage, skipped for introspection operations (the introspection stage has admitted or refused them). */
export function exceptIntrospection(stage: Stage): Stage {
  return {
    name: stage.name,
    run: (operation) =>
      introspectionIn(operation.document, operation.operation) === 'introspection' ? undefined : stage.run(operation),
  };
}

/** The most schema-element lists nested on one path; each fragment is measured once. */
function listNesting(document: DocumentNode, root: SelectionSetNode): number {
  const fragments = fragmentsOf(document);
  const measured = new Map<string, number>();
  const measure = (set: SelectionSetNode): number => {
    let deepest = 0;
    for (const selection of set.selections) {
      let depth: number;
      if (selection.kind === Kind.FIELD) {
        const below = selection.selectionSet ? measure(selection.selectionSet) : 0;
        depth = below + (SCHEMA_LISTS.has(selection.name.value) ? 1 : 0);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        depth = measure(selection.selectionSet);
      } else {
        const name = selection.name.value;
        let known = measured.get(name);
        if (known === undefined) {
          const fragment = fragments.get(name);
          known = fragment ? measure(fragment.selectionSet) : 0;
          measured.set(name, known);
        }
        depth = known;
      }
      deepest = Math.max(deepest, depth);
    }
    return deepest;
  };
  return measure(root);
}

/**
 * Answers introspection operations from the caller's visible schema instead of letting the gateway execute them
 * against the whole API schema. Runs after the pipeline has admitted the operation (`responseForOperation` follows
 * `didResolveOperation`).
 */
export function createIntrospectionPlugin(
  schemasFor: VisibleSchemas | ((schema: GraphQLSchema) => VisibleSchemas),
): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async responseForOperation({ contextValue, document, operation, operationName, request, schema: served }) {
          if (introspectionIn(document, operation) !== 'introspection') return null;
          // The visible schemas of the supergraph version the request was validated against (a hot swap may
          // have happened since).
          const schemas = typeof schemasFor === 'function' ? schemasFor(served) : schemasFor;
          const schema = await schemas.forCaller(contextValue.caller);
          const result = await execute({
            schema,
            document,
            operationName,
            variableValues: request.variables ?? {},
          });
          return {
            http: { status: undefined, headers: new HeaderMap() },
            body: {
              kind: 'single',
              // Apollo Server formats only the errors of what it executed itself.
              singleResult: {
                data: result.data,
                ...(result.errors ? { errors: result.errors.map((e) => maskError(e.toJSON())) } : {}),
              },
            },
          };
        },
      };
    },
  };
}

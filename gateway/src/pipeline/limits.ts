/**
 * Stage: the shape limits of the caller's plan — lexical tokens, depth, aliases, root fields, directives per field —
 * and the bounds of the schema's list arguments, checked on the parsed, validated operation before any planning.
 *
 * Each limit refuses as GRAPHQL_VALIDATION_FAILED (HTTP 400) with its own `validationErrorCode` from the contract
 * (MAX_TOKENS_LIMIT, MAX_DEPTH_LIMIT, …) — the shape Apollo gives INTROSPECTION_DISABLED — and `maximum` and
 * `actual` in the extensions. Counts follow the operation as the gateway will run it:
 * fragments are expanded (a fragment spread twice counts twice), but every fragment is measured once and its
 * numbers reused, so a fragment bomb costs this stage no more than its text does.
 *
 * Two limits also need a guard before parsing, which happens before any stage: the body size (Express reads it;
 * see `assertBodyWithinPlan`) and the token count (input/document-bounds.ts counts the caller's before Apollo Server
 * parses, so validation never answers for it; `parseOptionsForPlans` caps the parser; the check here stays for
 * documents that reach Apollo Server another way).
 */
import {
  Kind,
  Lexer,
  print,
  Source,
  TokenKind,
  type DocumentNode,
  type OperationDefinitionNode,
  type ParseOptions,
  type SelectionSetNode,
} from 'graphql';
import { isIncluded } from '../document/conditions';
import { fragmentsOf } from '../document/fragments';
import { argumentValue, variableDefaults } from '../document/variables';
import { ErrorCode, gatewayError } from '../errors';
import type { Plan, PlanLimits } from '../tenants/plan';
import type { CostModel, TypeCostInfo } from '../cost/estimate';
import { tenantOf, type OperationRequest } from '../request';
import type { Stage } from './index';

export const LimitCode = {
  MAX_TOKENS_LIMIT: 'MAX_TOKENS_LIMIT',
  MAX_DEPTH_LIMIT: 'MAX_DEPTH_LIMIT',
  MAX_ALIASES_LIMIT: 'MAX_ALIASES_LIMIT',
  MAX_ROOT_FIELDS_LIMIT: 'MAX_ROOT_FIELDS_LIMIT',
  MAX_DIRECTIVES_LIMIT: 'MAX_DIRECTIVES_LIMIT',
} as const;
export type LimitCode = (typeof LimitCode)[keyof typeof LimitCode];

export interface ListBounds {
  /** Where the slicing arguments are declared (`@listSize(slicingArguments: [...])`). */
  readonly model: CostModel;
  readonly min: number;
  readonly max: number;
}

/** The slicing-argument bounds of /graphql (and of the explorer's estimate, which must judge alike). */
export const SLICING_BOUNDS = { min: 1, max: 100 } as const;

export interface LimitsStageOptions {
  /** The caller's plan limits; by default the tenant snapshot's plan. */
  readonly limitsFor?: (request: OperationRequest) => PlanLimits;
  /** Every slicing argument must be an integer in [min, max], whether written literally or passed as a variable. */
  readonly listBounds?: ListBounds;
}

const snapshotLimits = (request: OperationRequest): PlanLimits => tenantOf(request).plan.limits;

export function createLimitsStage(options: LimitsStageOptions): Stage {
  const limitsFor = options.limitsFor ?? snapshotLimits;
  return {
    name: 'limits',
    run(operation: OperationRequest) {
      const limits = limitsFor(operation);
      // Every token is at least one character long: a text no longer than the limit cannot be over it.
      const text = operation.source;
      if (text === undefined || text.length > limits.maxTokens) {
        const tokens = countTokens(operation.document, limits.maxTokens, text);
        if (tokens > limits.maxTokens) {
          throw limitRefusal(LimitCode.MAX_TOKENS_LIMIT, 'The document has too many tokens.', limits.maxTokens, tokens);
        }
      }
      const shape = measureOperation(operation.document, operation.operation);
      const checks: readonly [LimitCode, string, number, number][] = [
        [LimitCode.MAX_DEPTH_LIMIT, 'The operation is nested too deeply.', limits.maxDepth, shape.depth],
        [LimitCode.MAX_ALIASES_LIMIT, 'The operation has too many aliases.', limits.maxAliases, shape.aliases],
        [
          LimitCode.MAX_ROOT_FIELDS_LIMIT,
          'The operation has too many root fields.',
          limits.maxRootFields,
          shape.rootFields,
        ],
        [
          LimitCode.MAX_DIRECTIVES_LIMIT,
          'A field of the operation has too many directives.',
          limits.maxDirectivesPerField,
          shape.directivesPerField,
        ],
      ];
      for (const [code, message, maximum, actual] of checks) {
        if (actual > maximum) throw limitRefusal(code, message, maximum, actual);
      }
      if (options.listBounds) checkListBounds(operation, options.listBounds);
    },
  };
}

/** A shape limit's refusal; input/document-bounds.ts gives the token limit's before parsing in the same shape. */
export function limitRefusal(code: LimitCode, message: string, maximum: number, actual: number) {
  return gatewayError(ErrorCode.GRAPHQL_VALIDATION_FAILED, message, {
    extensions: { validationErrorCode: code, maximum, actual },
  });
}

/**
 * Lexical tokens of the document as graphql-js's parser counts them (comments excluded), counting no further than
 * `limit + 1`: the answer only has to say "over". `text` is the text the document was parsed from, when known:
 * lexing it gives the same count (the lexer skips comments and commas, as printing does) for much less than printing.
 */
export function countTokens(document: DocumentNode, limit: number, text?: string): number {
  // A document keeps its text only with its locations, which the document store drops; without either, it is printed.
  const lexer = new Lexer(document.loc?.source ?? new Source(text ?? print(document)));
  let count = 0;
  while (count <= limit && lexer.advance().kind !== TokenKind.EOF) count += 1;
  return count;
}

export interface OperationShape {
  /** Nesting of fields: `{ a { b } }` is 2. */
  readonly depth: number;
  readonly aliases: number;
  readonly rootFields: number;
  /** The most directives on one field, fragment spread or inline fragment. */
  readonly directivesPerField: number;
}

interface SetShape {
  depth: number;
  aliases: number;
  /** Fields directly in the set, through fragments. */
  fields: number;
  directives: number;
}

/**
 * Measures the operation with fragments expanded; each fragment is walked once. Selections under `@skip`/`@include`
 * count whatever their condition: the query planner plans them (the condition is applied when the plan runs), and
 * these limits protect planning. List bounds and cost, which protect what runs, leave them out.
 */
export function measureOperation(document: DocumentNode, operation: OperationDefinitionNode): OperationShape {
  const fragments = fragmentsOf(document);
  const measured = new Map<string, SetShape>();
  const fragmentShape = (name: string): SetShape => {
    const known = measured.get(name);
    if (known) return known;
    // Validation forbids fragment cycles; should one get here, it reads as unboundedly deep.
    measured.set(name, { depth: Number.POSITIVE_INFINITY, aliases: 0, fields: 0, directives: 0 });
    const fragment = fragments.get(name);
    const shape = fragment ? measure(fragment.selectionSet) : { depth: 0, aliases: 0, fields: 0, directives: 0 };
    measured.set(name, shape);
    return shape;
  };
  const measure = (set: SelectionSetNode): SetShape => {
    const shape: SetShape = { depth: 0, aliases: 0, fields: 0, directives: 0 };
    for (const selection of set.selections) {
      shape.directives = Math.max(shape.directives, selection.directives?.length ?? 0);
      if (selection.kind === Kind.FIELD) {
        shape.fields += 1;
        if (selection.alias) shape.aliases += 1;
        const child = selection.selectionSet ? measure(selection.selectionSet) : undefined;
        shape.depth = Math.max(shape.depth, 1 + (child?.depth ?? 0));
        if (!child) continue;
        shape.aliases += child.aliases;
        shape.directives = Math.max(shape.directives, child.directives);
        continue;
      }
      const inner =
        selection.kind === Kind.FRAGMENT_SPREAD ? fragmentShape(selection.name.value) : measure(selection.selectionSet);
      shape.depth = Math.max(shape.depth, inner.depth);
      shape.aliases += inner.aliases;
      shape.fields += inner.fields;
      shape.directives = Math.max(shape.directives, inner.directives);
    }
    return shape;
  };
  const root = measure(operation.selectionSet);
  return { depth: root.depth, aliases: root.aliases, rootFields: root.fields, directivesPerField: root.directives };
}

/**
 * Refuses a slicing argument outside the schema's bounds with BAD_USER_INPUT. Fields are found through the cost
 * model's index of the supergraph; each fragment is checked once, since its arguments do not depend on where it is
 * spread. The value checked is the one the field will run with and the cost estimator prices — the one rule of
 * document/variables.ts: literal, provided variable (null included), the operation's default, the argument's
 * default; an absent value is not checked (coercion reports a missing required one). Selections `@skip`/`@include`
 * leave out for the request's variables are not checked, as they are not priced: they will not run.
 */
function checkListBounds(operation: OperationRequest, bounds: ListBounds): void {
  const { model } = bounds;
  const fragments = fragmentsOf(operation.document);
  const defaults = variableDefaults(operation.operation);
  const { variables } = operation;
  const checkedFragments = new Set<string>();

  const check = (set: SelectionSetNode, type: TypeCostInfo | undefined) => {
    if (!type) return;
    for (const selection of set.selections) {
      if (!isIncluded(selection, defaults, variables)) continue;
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || checkedFragments.has(fragment.name.value)) continue;
        checkedFragments.add(fragment.name.value);
        check(fragment.selectionSet, model.types.get(fragment.typeCondition.name.value));
        continue;
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        check(
          selection.selectionSet,
          selection.typeCondition ? model.types.get(selection.typeCondition.name.value) : type,
        );
        continue;
      }
      const field = type.fields.get(selection.name.value);
      if (!field) continue;
      for (const slicing of field.listSize?.slicingArguments ?? []) {
        const argument = selection.arguments?.find((a) => a.name.value === slicing);
        const argumentDefault = field.definition.args.find((a) => a.name === slicing)?.defaultValue;
        const value = argumentValue(argument?.value, argumentDefault, defaults, variables);
        if (value === undefined) continue;
        if (!Number.isSafeInteger(value) || (value as number) < bounds.min || (value as number) > bounds.max) {
          throw gatewayError(
            ErrorCode.BAD_USER_INPUT,
            `Argument "${slicing}" of ${field.key} must be an integer from ${bounds.min} to ${bounds.max}.`,
            { extensions: { maximum: bounds.max } },
          );
        }
      }
      if (selection.selectionSet && field.selectionType)
        check(selection.selectionSet, model.types.get(field.selectionType));
    }
  };
  const root = model.schema.getRootType(operation.operation.operation);
  if (root) check(operation.operation.selectionSet, model.types.get(root.name));
}

/**
 * Body size per plan, for the server: Express reads and parses the body before Apollo Server or any stage runs, so
 * this cannot be a stage. Call it with the Content-Length before the body is read, and with the byte count the JSON
 * parser saw for bodies sent without one. Refuses with PAYLOAD_TOO_LARGE (413).
 */
export function assertBodyWithinPlan(byteLength: number, limits: PlanLimits): void {
  if (byteLength > limits.maxBodyBytes) {
    throw gatewayError(ErrorCode.PAYLOAD_TOO_LARGE, 'The request body is too large.', {
      extensions: { maximum: limits.maxBodyBytes },
    });
  }
}

/**
 * Apollo Server's `parseOptions`: the parser stops at the largest plan's token limit, so no document costs more to
 * parse than the most generous plan allows; the stage then applies the caller's own plan. A document stopped here
 * is a GRAPHQL_PARSE_FAILED, since the caller is not known to the parser.
 */
export function parseOptionsForPlans(plans: readonly Plan[]): ParseOptions {
  return { maxLexicalTokens: Math.max(...plans.map((plan) => plan.limits.maxTokens)) };
}

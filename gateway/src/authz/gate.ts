/**
 * graphql-shield rules, decided on the operation document before the gateway plans anything.
 *
 * @apollo/gateway executes query plans and never calls the resolvers of its API schema, so shield's usual
 * `applyMiddleware` would run zero rules. Instead the gate walks the selected operation the way execution would
 * (fragments resolved, @skip/@include applied, abstract types expanded to the object types that can be there),
 * looks up each `Type.field` rule the way shield does, and calls the rule's own `resolve`. What differs from shield,
 * on purpose:
 *
 * - Deny by default: the fallback rule is `deny` (shield's is `allow`).
 * - A rule that throws denies, also inside `not` (shield counts a throw as `false`, which `not` turns into an
 *   allow). Rules are resolved with shield's `debug` option, so a throw rejects through every combinator and the
 *   gate turns the rejection into a denial — `or(throws, allow)` denies too: an error never grants access.
 * - Two distinct rules with one name refuse to start: shield's `contextual` and `strict` caches are keyed by the
 *   rule's name, so they would share one decision.
 * - Rules on interfaces and unions refuse to start (shield silently ignores them). A field selected on an
 *   interface is decided by the rules of every object type that can be at that position; all must allow.
 * - Introspection (`__schema`, `__type`) is decided by its own rule; `__typename` is always allowed.
 *
 * There is no parent object before execution: rules get `parent` undefined, and a rule that needs the object
 * belongs in the subgraph that has it. A decision is taken once per request for each rule and argument values, so
 * rules must decide from the caller and the arguments; `info` describes the first position the decision was
 * needed at.
 */
import {
  Kind,
  OperationTypeNode,
  SchemaMetaFieldDef,
  isIntrospectionType,
  isObjectType,
  type DocumentNode,
  type FragmentDefinitionNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { deny } from 'graphql-shield';
import type { ByteBoundedCache, CacheStats } from '../cache';
import { documentKey } from '../document/key';
import type { Caller } from '../request';
import {
  analyzeOperation,
  type FieldCheck,
  type OperationAnalysis,
  type SelectedField,
  type WalkSettings,
} from './analysis';
import {
  MAX_VARIABLES_KEY_LENGTH,
  argumentValues,
  coerceVariables,
  containsVariable,
  resolveInfo,
  stableKey,
  type DecisionPlan,
} from './decision-plan';
import { createDocumentCache, newDocumentEntry, type DocumentEntry } from './gate-cache';
import { compileRuleTree, refuseDuplicateNames } from './rule-tree';
import {
  decide,
  describeRule,
  type AuthzContext,
  type DenialReason,
  type RuleTree,
  type ShieldContext,
  type ShieldOptions,
  type ShieldRule,
} from './shield';

// The gate's parts, one module each (shield adapter, rule tree, analysis walk, decision plan, caches); their public
// API is re-exported here.
export {
  LIST_ITEM,
  type FieldCheck,
  type Occurrence,
  type OperationAnalysis,
  type PathStep,
  type SelectedField,
} from './analysis';
export { stableKey } from './decision-plan';
export { RuleTreeError } from './rule-tree';
export { describeRule, type AuthzContext, type DenialReason, type RuleTree, type ShieldRule } from './shield';
export { queryHashOf } from '../document/key';

export interface Denial {
  readonly field: SelectedField;
  /** The object type whose rule denied. */
  readonly typeName: string;
  /** The rule, described (`chain(or(isAdmin, isStaff), validPage)`), for logs. */
  readonly rule: string;
  readonly reason: DenialReason;
  /** For 'invalid-input', what the client sent wrong; for the others, the rule's error if it gave one. */
  readonly error?: Error;
}

export interface GateRequest {
  readonly document: DocumentNode;
  readonly operationName: string | null;
  /** Apollo Server's SHA-256 of the query text: the analysis cache key. */
  readonly queryHash: string;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly caller: Caller;
}

export interface GateResult {
  readonly analysis: OperationAnalysis;
  readonly denials: readonly Denial[];
}

export interface GateOptions {
  /** The gateway's API schema (see `buildApiSchema`): what clients can select. */
  readonly schema: GraphQLSchema;
  readonly rules: RuleTree;
  /** Decides `__schema` and `__type`, which are outside the schema's types. */
  readonly introspectionRule: ShieldRule;
  /** For fields no rule covers; `deny` unless told otherwise. */
  readonly fallbackRule?: ShieldRule;
  /** Distinct documents (query hash + operation name) whose analysis is kept. */
  readonly analysisCacheSize?: number;
  /** Estimated heap bytes the kept documents, analyses and decision plans may take (gate-memory.ts). */
  readonly analysisCacheBytes?: number;
  /** Field positions one operation may expand to; a fragment bomb stops here instead of spinning. */
  readonly maxSelections?: number;
}

// Re-exported for the importers that have not moved to schema/api-schema.ts yet (the CLI must not load the gate).
export { buildApiSchema } from '../schema/api-schema';

const DEFAULT_MAX_SELECTIONS = 5_000;

export class AuthorizationGate {
  readonly schema: GraphQLSchema;
  /** `Type.field` of every field no rule covers: the fallback rule decides them. */
  readonly uncoveredFields: readonly string[];
  private readonly settings: WalkSettings;
  private readonly shieldOptions: ShieldOptions;
  private readonly documents: ByteBoundedCache<DocumentEntry>;
  private readonly labels = new Map<ShieldRule, string>();
  /** Argument values (and their key) of checks whose field node has only literal arguments; see `argumentsOf`. */
  private readonly fragmentRecords = new WeakMap<OperationAnalysis, Record<string, FragmentDefinitionNode>>();
  private readonly literalArguments = new WeakMap<
    FieldCheck,
    { readonly args: Record<string, unknown>; readonly key: string }
  >();
  private hits = 0;
  private misses = 0;

  constructor(options: GateOptions) {
    const fallbackRule = options.fallbackRule ?? deny;
    refuseDuplicateNames([options.rules, fallbackRule, options.introspectionRule]);
    const { ruleByField, uncovered } = compileRuleTree(options.schema, options.rules, fallbackRule);
    const possibleTypes = new Map<string, readonly GraphQLObjectType[]>();
    this.schema = options.schema;
    this.uncoveredFields = uncovered;
    this.settings = {
      schema: options.schema,
      ruleFor: (typeName, fieldName) => ruleByField.get(`${typeName}.${fieldName}`) ?? fallbackRule,
      introspectionRule: options.introspectionRule,
      maxSelections: options.maxSelections ?? DEFAULT_MAX_SELECTIONS,
      possibleTypes: (type) => {
        let types = possibleTypes.get(type.name);
        if (!types) {
          types = isObjectType(type) ? [type] : options.schema.getPossibleTypes(type);
          possibleTypes.set(type.name, types);
        }
        return types;
      },
    };
    this.shieldOptions = {
      debug: true,
      allowExternalErrors: false,
      fallbackRule,
      hashFunction: ({ args }) => stableKey(args),
    };
    this.documents = createDocumentCache({
      maxBytes: options.analysisCacheBytes,
      maxEntries: options.analysisCacheSize,
    });
  }

  /** The per-document cache's size, in estimated bytes. */
  cacheMemory(): CacheStats {
    return this.documents.stats();
  }

  /** Analyses served from the cache and made afresh since the gate was built. */
  get cacheStats(): { readonly hits: number; readonly misses: number } {
    return { hits: this.hits, misses: this.misses };
  }

  async evaluate(request: GateRequest): Promise<GateResult> {
    const plan = this.decisionPlan(this.documentEntry(request), request.variables);
    // Only the decisions run per request: the rules see this caller; everything else is the plan's.
    const ctx: AuthzContext & ShieldContext = { caller: request.caller, _shield: { cache: {} } };
    const outcomes = await Promise.all(
      plan.decisions.map(({ rule, args, info }) => decide(rule, { ...args }, ctx, info, this.shieldOptions)),
    );
    const denials: Denial[] = [];
    for (const { field, check, decision } of plan.checks) {
      const outcome = outcomes[decision]!;
      if (outcome.reason === 'allowed') continue;
      denials.push({
        field,
        typeName: check.parentType.name,
        rule: this.label(check.rule),
        reason: outcome.reason,
        ...(outcome.error ? { error: outcome.error } : {}),
      });
    }
    return { analysis: plan.analysis, denials };
  }

  /**
   * Whether the caller may select `Type.field` at all, decided without an operation (the schema explorer shows
   * each caller what it may call). Rules get no arguments; a rule that refuses only its input (`inputRule`) counts
   * as allowing, because the right arguments would pass it. `ctx` lets one caller's decisions share shield's cache.
   */
  async callable(caller: Caller, typeName: string, fieldName: string, ctx = this.contextFor(caller)): Promise<boolean> {
    const type = this.schema.getType(typeName);
    const fieldDef = isObjectType(type) ? type.getFields()[fieldName] : undefined;
    if (!type || !fieldDef) throw new Error(`${typeName}.${fieldName} is not an object field of the gate's schema`);
    return this.decidesCallable(this.settings.ruleFor(typeName, fieldName), type as GraphQLObjectType, fieldDef, ctx);
  }

  /** Every `Type.field` of the schema's object types the caller may select (see `callable`). */
  async callableFields(caller: Caller): Promise<ReadonlySet<string>> {
    const ctx = this.contextFor(caller);
    const decisions: Promise<string | undefined>[] = [];
    for (const type of Object.values(this.schema.getTypeMap())) {
      if (!isObjectType(type) || isIntrospectionType(type)) continue;
      for (const fieldName of Object.keys(type.getFields())) {
        decisions.push(
          this.callable(caller, type.name, fieldName, ctx).then((ok) => (ok ? `${type.name}.${fieldName}` : undefined)),
        );
      }
    }
    return new Set((await Promise.all(decisions)).filter((name): name is string => name !== undefined));
  }

  /** Whether the caller may select `__schema` and `__type`. */
  async mayIntrospect(caller: Caller): Promise<boolean> {
    const root = this.schema.getQueryType();
    if (!root) return false;
    return this.decidesCallable(this.settings.introspectionRule, root, SchemaMetaFieldDef, this.contextFor(caller));
  }

  private contextFor(caller: Caller): AuthzContext & ShieldContext {
    return { caller, _shield: { cache: {} } };
  }

  private async decidesCallable(
    rule: ShieldRule,
    parentType: GraphQLObjectType,
    fieldDef: GraphQLField<unknown, unknown>,
    ctx: ShieldContext,
  ): Promise<boolean> {
    const info: GraphQLResolveInfo = {
      fieldName: fieldDef.name,
      fieldNodes: [],
      returnType: fieldDef.type,
      parentType,
      path: { prev: undefined, key: fieldDef.name, typename: parentType.name },
      schema: this.schema,
      fragments: {},
      rootValue: undefined,
      operation: {
        kind: Kind.OPERATION_DEFINITION,
        operation: OperationTypeNode.QUERY,
        selectionSet: { kind: Kind.SELECTION_SET, selections: [] },
      },
      variableValues: {},
    };
    const outcome = await decide(rule, {}, ctx, info, this.shieldOptions);
    return outcome.reason === 'allowed' || outcome.reason === 'invalid-input';
  }

  /** `info.fragments` for the rules: made once per analysis rather than per request. */
  private fragmentRecord(analysis: OperationAnalysis): Record<string, FragmentDefinitionNode> {
    let record = this.fragmentRecords.get(analysis);
    if (!record) {
      record = Object.fromEntries(analysis.fragments);
      this.fragmentRecords.set(analysis, record);
    }
    return record;
  }

  /**
   * What a request of this document with these variable values asks the rules: each distinct decision (a rule and
   * its arguments, with the resolve info of the first field that needs it) and, for every check of every selected
   * field, which decision answers it. Made once per document and variable values — the variables coerced, the walk
   * (cached itself by the @skip/@include values), the arguments computed — and kept unless the values are too long
   * to key by. Only the decisions depend on the caller. The key is the values as JSON carries them (`stableKey`):
   * variables come from a JSON body, where equal keys mean equal values.
   */
  private decisionPlan(entry: DocumentEntry, raw: Readonly<Record<string, unknown>>): DecisionPlan {
    const key = stableKey(raw);
    const cacheable = key.length <= MAX_VARIABLES_KEY_LENGTH;
    const cached = cacheable ? entry.plans.get(key) : undefined;
    if (cached) {
      this.hits += 1;
      return cached;
    }
    const variables = coerceVariables(this.schema, entry.operation, raw);
    const analysis = this.analysis(entry, variables);
    const fragments = this.fragmentRecord(analysis);
    const decisions: DecisionPlan['decisions'][number][] = [];
    const indexes = new Map<ShieldRule, Map<string, number>>();
    const checks: DecisionPlan['checks'][number][] = [];
    for (const field of analysis.fields) {
      for (const check of field.checks) {
        const { args, key: argsKey } = this.argumentsOf(check, field.node, variables);
        let byArgs = indexes.get(check.rule);
        if (!byArgs) indexes.set(check.rule, (byArgs = new Map()));
        let decision = byArgs.get(argsKey);
        if (decision === undefined) {
          decision =
            decisions.push({
              rule: check.rule,
              args,
              info: resolveInfo(this.schema, analysis, fragments, field, check, variables),
            }) - 1;
          byArgs.set(argsKey, decision);
        }
        checks.push({ field, check, decision });
      }
    }
    const plan = { analysis, decisions, checks };
    if (cacheable) {
      entry.plans.set(key, plan);
      this.documents.set(entry.cacheKey, entry);
    }
    return plan;
  }

  /**
   * A field whose arguments are all literals has the same argument values in every request: they and their key are
   * computed once per analysis (a copy is handed to the rule, which must not see another request's object).
   */
  private argumentsOf(
    check: FieldCheck,
    node: FieldNode,
    variables: Record<string, unknown>,
  ): { args: Record<string, unknown>; key: string } {
    const known = this.literalArguments.get(check);
    if (known) return { args: { ...known.args }, key: known.key };
    const args = argumentValues(check.fieldDef, node, variables);
    const key = stableKey(args);
    if (!node.arguments?.some((argument) => containsVariable(argument.value))) {
      this.literalArguments.set(check, { args: { ...args }, key });
    }
    return { args, key };
  }

  private documentEntry(request: GateRequest): DocumentEntry {
    const key = documentKey(request.queryHash, request.operationName);
    let entry = this.documents.get(key);
    if (!entry) {
      entry = newDocumentEntry(key, request.document, request.operationName);
      this.documents.set(key, entry);
    }
    return entry;
  }

  /** The walk, done once per document, operation and values of the variables @skip/@include read. */
  private analysis(entry: DocumentEntry, variables: Record<string, unknown>): OperationAnalysis {
    const key = JSON.stringify(entry.directiveVariables.map((name) => variables[name] ?? null));
    const cached = entry.analyses.get(key);
    if (cached) {
      this.hits += 1;
      return cached;
    }
    this.misses += 1;
    const analysis = analyzeOperation(this.settings, entry, variables);
    entry.analyses.set(key, analysis);
    this.documents.set(entry.cacheKey, entry);
    return analysis;
  }

  private label(rule: ShieldRule): string {
    let label = this.labels.get(rule);
    if (label === undefined) {
      label = describeRule(rule);
      this.labels.set(rule, label);
    }
    return label;
  }
}

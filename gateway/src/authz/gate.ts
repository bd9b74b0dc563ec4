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
import { createHash } from 'node:crypto';
import {
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  OperationTypeNode,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  isInterfaceType,
  isIntrospectionType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { deny, type and, type IRules } from 'graphql-shield';
import { createByteBoundedCache, type ByteBoundedCache, type CacheStats } from '../cache';
import { ErrorCode, gatewayError } from '../errors';
import { MAX_INPUT_NESTING, jsonDepthExceeds } from '../input/json-depth';
import { InvalidInputError } from './input-rules';
import type { Caller } from '../pipeline/index';
import { analysisBytes, decisionPlanBytes, documentEntryBytes } from './gate-memory';

/** graphql-shield exports its constructors but not these types; they are derived from the constructors. */
export type ShieldRule = Parameters<typeof and>[number];
type ShieldOptions = Parameters<ShieldRule['resolve']>[4];
type ShieldContext = Parameters<ShieldRule['resolve']>[2];
type LogicRule = Extract<ShieldRule, { getRules(): ShieldRule[] }>;
export type RuleTree = IRules;

/** What rules get as `ctx` (besides shield's own `_shield` cache). */
export interface AuthzContext {
  readonly caller: Caller;
}

/** Marks a list level in a response path: the step applies to every item. Response keys are GraphQL names. */
export const LIST_ITEM = '@';

export interface PathStep {
  /** A response key, or LIST_ITEM. */
  readonly key: string;
  /** Whether a null may stand here; when not, null propagates to the nearest nullable step above. */
  readonly nullable: boolean;
}

/** One object type's rule for a selected field. */
export interface FieldCheck {
  readonly parentType: GraphQLObjectType;
  readonly fieldDef: GraphQLField<unknown, unknown>;
  readonly rule: ShieldRule;
}

/** A field node of the document as the walk reached it, possibly at several positions (fragments). */
export interface SelectedField {
  readonly node: FieldNode;
  /** The type the selection is written on (object, interface or union), for messages. */
  readonly parentTypeName: string;
  readonly fieldName: string;
  /** One per object type the selection can apply to, over all its positions. */
  readonly checks: readonly FieldCheck[];
  readonly occurrences: readonly Occurrence[];
}

export interface Occurrence {
  readonly field: SelectedField;
  readonly parent: Occurrence | undefined;
  readonly path: readonly PathStep[];
  /** The selection applies to only some of the object types that can be at this position (a type condition). */
  readonly narrowed: boolean;
}

/** The per-document part of authorization, cached: which fields an operation selects, where, under which rules. */
export interface OperationAnalysis {
  /** The document the nodes below belong to (the first one seen for this query hash). */
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  readonly fields: readonly SelectedField[];
  /** In walk order: a parent before its children. */
  readonly occurrences: readonly Occurrence[];
  /** Selections @skip/@include leave out for the variable values this analysis was made for. */
  readonly excluded: ReadonlySet<SelectionNode>;
}

export type DenialReason = 'forbidden' | 'invalid-input' | 'rule-error';

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

/** A rule tree the gate cannot enforce faithfully; thrown at startup. */
export class RuleTreeError extends Error {
  override readonly name = 'RuleTreeError';
}

// Re-exported for the importers that have not moved to schema/api-schema.ts yet (the CLI must not load the gate).
export { buildApiSchema } from '../schema/api-schema';

const DEFAULT_ANALYSIS_CACHE_SIZE = 1_000;
const DEFAULT_ANALYSIS_CACHE_BYTES = 16 * 1_048_576;
/** Variable combinations of one document (each @skip/@include variable doubles them) kept per document. */
const ANALYSES_PER_DOCUMENT = 8;
/** Variable values of one document whose decision plan is kept (a page cursor changes them on every request). */
const PLANS_PER_DOCUMENT = 16;
/** Variables whose key is longer than this (big inputs, long lists) get no plan kept: they seldom repeat. */
const MAX_VARIABLES_KEY_LENGTH = 1_024;
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
  private readonly literalArguments = new WeakMap<FieldCheck, { readonly args: Record<string, unknown>; readonly key: string }>();
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
    this.documents = createByteBoundedCache({
      name: 'authorization',
      maxBytes: options.analysisCacheBytes ?? DEFAULT_ANALYSIS_CACHE_BYTES,
      maxEntries: options.analysisCacheSize ?? DEFAULT_ANALYSIS_CACHE_SIZE,
      // Measured again each time an analysis or a plan is added to the entry (`remember`).
      sizeOf: (entry) => {
        let bytes = documentEntryBytes(entry.document);
        for (const [, analysis] of entry.analyses.entries()) bytes += analysisBytes(analysis);
        for (const [key, plan] of entry.plans.entries()) bytes += decisionPlanBytes(plan, key);
        return bytes;
      },
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
        decisions.push(this.callable(caller, type.name, fieldName, ctx).then((ok) => (ok ? `${type.name}.${fieldName}` : undefined)));
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
      operation: { kind: Kind.OPERATION_DEFINITION, operation: OperationTypeNode.QUERY, selectionSet: { kind: Kind.SELECTION_SET, selections: [] } },
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
          decision = decisions.push({ rule: check.rule, args, info: resolveInfo(this.schema, analysis, fragments, field, check, variables) }) - 1;
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
    const key = `${request.queryHash}\u0000${request.operationName ?? ''}`;
    let entry = this.documents.get(key);
    if (!entry) {
      const operation = getOperationAST(request.document, request.operationName);
      if (!operation) throw gatewayError(ErrorCode.OPERATION_RESOLUTION_FAILURE, 'No operation to authorize.');
      entry = {
        cacheKey: key,
        document: request.document,
        operation,
        fragments: fragmentsOf(request.document),
        directiveVariables: directiveVariablesOf(request.document),
        analyses: new LruMap(ANALYSES_PER_DOCUMENT),
        plans: new LruMap(PLANS_PER_DOCUMENT),
      };
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
    const analysis = new Walk(this.settings, entry, variables).run();
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

/** What the walk needs from the gate: the schema and the compiled rule tree. */
interface WalkSettings {
  readonly schema: GraphQLSchema;
  ruleFor(typeName: string, fieldName: string): ShieldRule;
  readonly introspectionRule: ShieldRule;
  readonly maxSelections: number;
  possibleTypes(type: GraphQLCompositeType): readonly GraphQLObjectType[];
}

interface DocumentEntry {
  readonly cacheKey: string;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  /** Variables some @skip/@include reads: only their values change what the walk reaches. */
  readonly directiveVariables: readonly string[];
  readonly analyses: LruMap<string, OperationAnalysis>;
  /** Keyed by the request's variable values (`stableKey`); see `decisionPlan`. */
  readonly plans: LruMap<string, DecisionPlan>;
}

interface DecisionPlan {
  readonly analysis: OperationAnalysis;
  /** Each is copied for the rule that gets it: the plan serves every later request. */
  readonly decisions: readonly { readonly rule: ShieldRule; readonly args: Record<string, unknown>; readonly info: GraphQLResolveInfo }[];
  readonly checks: readonly { readonly field: SelectedField; readonly check: FieldCheck; readonly decision: number }[];
}

interface MutableSelectedField extends SelectedField {
  readonly checks: FieldCheck[];
  readonly occurrences: Occurrence[];
}

interface Position {
  readonly path: readonly PathStep[];
  readonly parent: Occurrence | undefined;
  /** Every object type a value at this position can have. */
  readonly types: readonly GraphQLObjectType[];
}

class Walk {
  private readonly fields = new Map<FieldNode, MutableSelectedField>();
  private readonly occurrences: Occurrence[] = [];
  private readonly excluded = new Set<SelectionNode>();
  private visited = 0;

  constructor(
    private readonly settings: WalkSettings,
    private readonly entry: DocumentEntry,
    private readonly variables: Record<string, unknown>,
  ) {}

  run(): OperationAnalysis {
    const { operation } = this.entry;
    const root = this.settings.schema.getRootType(operation.operation);
    if (!root) throw gatewayError(ErrorCode.BAD_REQUEST, `This schema has no ${operation.operation} type.`);
    this.selections(operation.selectionSet, root, [root], { path: [], parent: undefined, types: [root] });
    return {
      document: this.entry.document,
      operation,
      fragments: this.entry.fragments,
      fields: [...this.fields.values()],
      occurrences: this.occurrences,
      excluded: this.excluded,
    };
  }

  /**
   * `possible` is the set of object types the selections apply to: the position's types narrowed by every type
   * condition on the way here.
   */
  private selections(
    set: SelectionSetNode,
    staticType: GraphQLCompositeType,
    possible: readonly GraphQLObjectType[],
    position: Position,
  ): void {
    for (const selection of set.selections) {
      if (!this.isIncluded(selection)) {
        this.excluded.add(selection);
        continue;
      }
      if (++this.visited > this.settings.maxSelections) {
        throw gatewayError(ErrorCode.BAD_REQUEST, 'The operation selects too many fields to authorize.');
      }
      switch (selection.kind) {
        case Kind.FIELD:
          this.field(selection, staticType, possible, position);
          break;
        case Kind.INLINE_FRAGMENT: {
          const { typeCondition } = selection;
          const condition = typeCondition ? this.compositeType(typeCondition.name.value) : staticType;
          this.selections(selection.selectionSet, condition, this.narrow(possible, condition), position);
          break;
        }
        case Kind.FRAGMENT_SPREAD: {
          const fragment = this.entry.fragments.get(selection.name.value);
          if (!fragment) throw new Error(`Fragment ${selection.name.value} is not defined in a validated document`);
          const condition = this.compositeType(fragment.typeCondition.name.value);
          this.selections(fragment.selectionSet, condition, this.narrow(possible, condition), position);
          break;
        }
      }
    }
  }

  private field(
    node: FieldNode,
    staticType: GraphQLCompositeType,
    possible: readonly GraphQLObjectType[],
    position: Position,
  ): void {
    const name = node.name.value;
    if (name === '__typename') return;

    const introspection = name === '__schema' ? SchemaMetaFieldDef : name === '__type' ? TypeMetaFieldDef : undefined;
    const staticDef = introspection ?? (isUnionType(staticType) ? undefined : staticType.getFields()[name]);
    if (!staticDef) throw new Error(`${staticType.name}.${name} is not in the schema the gate was built with`);

    const field = this.selectedField(node, staticType, name);
    const definitions = possible.map((type) => {
      const fieldDef = introspection ?? type.getFields()[name];
      if (!fieldDef) throw new Error(`${type.name}.${name} is not in the schema the gate was built with`);
      return { type, fieldDef };
    });
    for (const { type, fieldDef } of definitions) {
      if (field.checks.some((check) => check.parentType === type)) continue;
      const rule = introspection ? this.settings.introspectionRule : this.settings.ruleFor(type.name, name);
      field.checks.push({ parentType: type, fieldDef, rule });
    }

    // The response key may only hold null if every object type that can answer here declares it nullable.
    const nullable = [staticDef, ...definitions.map((d) => d.fieldDef)].every((def) => !isNonNullType(def.type));
    const path = [...position.path, { key: node.alias?.value ?? name, nullable }];
    const occurrence: Occurrence = {
      field,
      parent: position.parent,
      path,
      narrowed: possible.length < position.types.length,
    };
    field.occurrences.push(occurrence);
    this.occurrences.push(occurrence);

    // Introspection answers come from the gateway itself and are outside the rule tree below the root field.
    if (!node.selectionSet || introspection) return;
    const childPath = [...path];
    let type = getNullableType(staticDef.type);
    while (isListType(type)) {
      childPath.push({ key: LIST_ITEM, nullable: !isNonNullType(type.ofType) });
      type = getNullableType(type.ofType);
    }
    const childType = getNamedType(staticDef.type) as GraphQLCompositeType;
    const types = this.settings.possibleTypes(childType);
    this.selections(node.selectionSet, childType, types, { path: childPath, parent: occurrence, types });
  }

  private selectedField(node: FieldNode, staticType: GraphQLCompositeType, fieldName: string): MutableSelectedField {
    let field = this.fields.get(node);
    if (!field) {
      field = { node, parentTypeName: staticType.name, fieldName, checks: [], occurrences: [] };
      this.fields.set(node, field);
    }
    return field;
  }

  private narrow(
    possible: readonly GraphQLObjectType[],
    condition: GraphQLCompositeType,
  ): readonly GraphQLObjectType[] {
    const allowed = this.settings.possibleTypes(condition);
    return possible.filter((type) => allowed.includes(type));
  }

  private compositeType(name: string): GraphQLCompositeType {
    const type = this.settings.schema.getType(name);
    if (!isObjectType(type) && !isInterfaceType(type) && !isUnionType(type)) {
      throw new Error(`Type condition ${name} is not a composite type of the schema the gate was built with`);
    }
    return type;
  }

  private isIncluded(node: SelectionNode): boolean {
    if (!node.directives?.length) return true;
    if (getDirectiveValues(GraphQLSkipDirective, node, this.variables)?.if === true) return false;
    return getDirectiveValues(GraphQLIncludeDirective, node, this.variables)?.if !== false;
  }
}

type Outcome = { readonly reason: 'allowed' | DenialReason; readonly error?: Error };
const ALLOWED: Outcome = { reason: 'allowed' };
const FORBIDDEN: Outcome = { reason: 'forbidden' };

/** Rules get no parent at the gateway: there is no data before execution. */
const NO_PARENT = undefined as unknown as object;

async function decide(
  rule: ShieldRule,
  args: Record<string, unknown>,
  ctx: ShieldContext,
  info: GraphQLResolveInfo,
  options: ShieldOptions,
): Promise<Outcome> {
  let result: Awaited<ReturnType<ShieldRule['resolve']>>;
  try {
    result = await rule.resolve(NO_PARENT, args, ctx, info, options);
  } catch (error) {
    return { reason: 'rule-error', error: error instanceof Error ? error : new Error(String(error)) };
  }
  if (result === true) return ALLOWED;
  if (result instanceof Error) {
    // Input rules (input-rules.ts; shield's `inputRule` answers with yup's ValidationError) name a mistake in what
    // the client sent, not a lack of rights.
    const invalid = result instanceof InvalidInputError || result.name === 'ValidationError';
    return { reason: invalid ? 'invalid-input' : 'forbidden', error: result };
  }
  return FORBIDDEN;
}

function resolveInfo(
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

function coerceVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  raw: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const { coerced, errors } = getVariableValues(schema, operation.variableDefinitions ?? [], raw, { maxErrors: 1 });
  if (errors) throw gatewayError(ErrorCode.BAD_USER_INPUT, errors[0]?.message ?? 'Invalid variables.');
  return coerced;
}

function argumentValues(
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

function fragmentsOf(document: DocumentNode): ReadonlyMap<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

function directiveVariablesOf(document: DocumentNode): readonly string[] {
  const names = new Set<string>();
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'skip' && node.name.value !== 'include') return;
      for (const arg of node.arguments ?? []) if (arg.value.kind === Kind.VARIABLE) names.add(arg.value.name.value);
    },
  });
  return [...names].sort();
}

function containsVariable(value: ValueNode): boolean {
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
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 0) return '{}';
    let flat = true;
    for (const key of keys) {
      const v = record[key];
      if (INTEGER_LIKE.test(key) || !(v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)))) {
        flat = false;
        break;
      }
    }
    if (flat) {
      keys.sort();
      let out = '{';
      for (let i = 0; i < keys.length; i += 1) out += `${i ? ',' : ''}${JSON.stringify(keys[i])}:${JSON.stringify(record[keys[i]!])}`;
      return `${out}}`;
    }
  }
  // JSON.stringify recurses: a value deeper than any body may be (input/json-depth.ts) is refused, not overflowed.
  if (jsonDepthExceeds(value, MAX_INPUT_NESTING)) throw gatewayError(ErrorCode.BAD_USER_INPUT, 'A value is nested too deeply.');
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
      : v,
  );
}

/** SHA-256 (hex) of a document's text, the way Apollo Server hashes a query. */
export function queryHashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function isShieldRule(value: unknown): value is ShieldRule {
  return typeof value === 'object' && value !== null && typeof (value as { resolve?: unknown }).resolve === 'function';
}

function isLogicRule(rule: ShieldRule): rule is LogicRule {
  return typeof (rule as { getRules?: unknown }).getRules === 'function';
}

const LOGIC_NAMES: Record<string, string> = {
  RuleAnd: 'and',
  RuleOr: 'or',
  RuleChain: 'chain',
  RuleRace: 'race',
  RuleNot: 'not',
  RuleTrue: 'allow',
  RuleFalse: 'deny',
};

export function describeRule(rule: ShieldRule): string {
  if (!isLogicRule(rule)) return rule.name;
  const name = LOGIC_NAMES[rule.constructor.name] ?? rule.constructor.name;
  const children = rule.getRules();
  return children.length === 0 ? name : `${name}(${children.map(describeRule).join(', ')})`;
}

function refuseDuplicateNames(trees: readonly RuleTree[]): void {
  const byName = new Map<string, ShieldRule>();
  const duplicates = new Set<string>();
  const visitRule = (rule: ShieldRule): void => {
    if (isLogicRule(rule)) {
      rule.getRules().forEach(visitRule);
      return;
    }
    const seen = byName.get(rule.name);
    if (seen && seen !== rule) duplicates.add(rule.name);
    byName.set(rule.name, rule);
  };
  const visitTree = (tree: unknown): void => {
    if (isShieldRule(tree)) visitRule(tree);
    else if (typeof tree === 'object' && tree !== null) Object.values(tree).forEach(visitTree);
  };
  trees.forEach(visitTree);
  if (duplicates.size > 0) {
    throw new RuleTreeError(
      `Distinct rules share a name, and shield caches decisions by name: ${[...duplicates].join(', ')}`,
    );
  }
}

function compileRuleTree(
  schema: GraphQLSchema,
  tree: RuleTree,
  fallbackRule: ShieldRule,
): { ruleByField: Map<string, ShieldRule>; uncovered: string[] } {
  const typeRules = new Map<string, ShieldRule | Readonly<Record<string, ShieldRule>>>();
  if (!isShieldRule(tree)) {
    for (const [typeName, entry] of Object.entries(tree)) {
      const type = schema.getType(typeName);
      if (!type) throw new RuleTreeError(`Rules for ${typeName}, which is not a type of the API schema`);
      if (isInterfaceType(type) || isUnionType(type)) {
        throw new RuleTreeError(
          `Rules for ${typeName}: rules go on object types; a field selected on an interface or union is ` +
            `decided by the rules of each object type that can be there`,
        );
      }
      if (!isObjectType(type)) throw new RuleTreeError(`Rules for ${typeName}, which is not an object type`);
      if (!isShieldRule(entry)) {
        const fields = type.getFields();
        for (const [fieldName, rule] of Object.entries(entry)) {
          if (fieldName !== '*' && !Object.hasOwn(fields, fieldName)) {
            throw new RuleTreeError(`A rule for ${typeName}.${fieldName}, which is not in the API schema`);
          }
          if (!isShieldRule(rule)) throw new RuleTreeError(`${typeName}.${fieldName} is not a shield rule`);
        }
      }
      typeRules.set(typeName, entry);
    }
  }

  const ruleByField = new Map<string, ShieldRule>();
  const uncovered: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    const entry = isShieldRule(tree) ? tree : typeRules.get(type.name);
    for (const fieldName of Object.keys(type.getFields())) {
      const rule =
        entry === undefined || isShieldRule(entry) ? entry : (ownRule(entry, fieldName) ?? ownRule(entry, '*'));
      if (!rule) uncovered.push(`${type.name}.${fieldName}`);
      ruleByField.set(`${type.name}.${fieldName}`, rule ?? fallbackRule);
    }
  }
  return { ruleByField, uncovered: uncovered.sort() };
}

function ownRule(map: Readonly<Record<string, ShieldRule>>, key: string): ShieldRule | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** A Map that forgets its least recently used entry beyond `maxEntries` (Maps iterate in insertion order). */
class LruMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(private readonly maxEntries: number) {}

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }
}

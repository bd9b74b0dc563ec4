/**
 * The analysis walk: the selected operation walked the way execution would (fragments resolved, @skip/@include
 * applied for the request's variables, abstract types expanded to the object types that can be there), noting
 * every selected field, where it is in the response, and which object type's rule decides it there. Its result is
 * per document and @skip/@include values, cached by the gate (gate-cache.ts).
 */
import {
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  Kind,
  getNamedType,
  getNullableType,
  isInterfaceType,
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
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import { isIncluded } from '../document/conditions';
import { ErrorCode, gatewayError } from '../errors';
import type { ShieldRule } from './shield';

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

/** What the walk needs from the gate: the schema and the compiled rule tree. */
export interface WalkSettings {
  readonly schema: GraphQLSchema;
  ruleFor(typeName: string, fieldName: string): ShieldRule;
  readonly introspectionRule: ShieldRule;
  readonly maxSelections: number;
  possibleTypes(type: GraphQLCompositeType): readonly GraphQLObjectType[];
}

/** The per-document part every analysis of one document shares. */
export interface AnalysisInput {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
}

/** Walks the operation for these (coerced) variable values. */
export function analyzeOperation(
  settings: WalkSettings,
  input: AnalysisInput,
  variables: Record<string, unknown>,
): OperationAnalysis {
  return new Walk(settings, input, variables).run();
}

/** Variables some @skip/@include reads: only their values change what the walk reaches. */
export function directiveVariablesOf(document: DocumentNode): readonly string[] {
  const names = new Set<string>();
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'skip' && node.name.value !== 'include') return;
      for (const arg of node.arguments ?? []) if (arg.value.kind === Kind.VARIABLE) names.add(arg.value.name.value);
    },
  });
  return [...names].sort();
}

const NO_DEFAULTS: ReadonlyMap<string, unknown> = new Map();

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
    private readonly entry: AnalysisInput,
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
    // The variables are coerced (the operation's defaults applied): the shared rule reads them as they are.
    return isIncluded(node, NO_DEFAULTS, this.variables);
  }
}

/**
 * The cost model: the supergraph's types with every weight resolved up front (see estimate.ts for the rules), so
 * compiling and evaluating do no schema lookups and no type checks (graphql-js's checks are slow outside
 * NODE_ENV=production).
 */
import {
  buildASTSchema,
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isInputObjectType,
  isListType,
  isUnionType,
  parse,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  type DocumentNode,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { argumentKey, fieldKey, readCostDirectives, type CostDirectives, type ListSize } from './directives';

/** How an argument value or input field is weighed. */
export interface InputCost {
  /** `@cost` of the argument or input field, else of its type. */
  readonly weight: number | undefined;
  /** For a list: how its items are weighed (Router's rule: with the list's own weight). */
  readonly item: InputCost | undefined;
  /** For an input object: its name, under which its fields are indexed. */
  readonly inputObject: string | undefined;
}

export interface FieldCostInfo {
  /** `Type.field`. */
  readonly key: string;
  readonly definition: GraphQLField<unknown, unknown>;
  /** The composite type of its selections; undefined for a scalar or enum field. */
  readonly selectionType: string | undefined;
  readonly list: boolean;
  /** The field's `@cost`, else its type's, else 1 for an object, interface or union and 0 for a scalar or enum. */
  readonly weight: number;
  readonly listSize: ListSize | undefined;
  readonly sizedFields: ReadonlySet<string> | undefined;
  readonly arguments: ReadonlyMap<string, InputCost>;
}

export interface TypeCostInfo {
  readonly name: string;
  readonly abstract: boolean;
  /** For an abstract type, its possible object types. */
  readonly possibleTypes: ReadonlySet<string>;
  /**
   * For an interface: whether some implementation weighs one of its fields differently from the interface. A
   * selection on it is then costed per possible type even without type conditions, so the estimate stays an
   * upper bound.
   */
  readonly costVaries: boolean;
  readonly fields: ReadonlyMap<string, FieldCostInfo>;
  readonly mutationRoot: boolean;
}

/**
 * What estimates are computed against: the supergraph's types with every weight resolved up front, so estimating
 * does no schema lookups and no type checks (graphql-js's checks are slow outside NODE_ENV=production).
 */
export interface CostModel {
  readonly schema: GraphQLSchema;
  readonly directives: CostDirectives;
  readonly types: ReadonlyMap<string, TypeCostInfo>;
  readonly inputObjects: ReadonlyMap<string, ReadonlyMap<string, InputCost>>;
}

/**
 * Builds the model from the supergraph SDL. Its schema is a superset of the API schema (join types, inaccessible
 * fields), which is all the estimator needs: operations were validated against the API schema before.
 */
export function createCostModel(supergraphSdl: string | DocumentNode): CostModel {
  const document = typeof supergraphSdl === 'string' ? parse(supergraphSdl) : supergraphSdl;
  const schema = buildASTSchema(document, { assumeValidSDL: true });
  const directives = readCostDirectives(document);

  const inputCost = (type: GraphQLInputType, explicit: number | undefined): InputCost => {
    const weight = explicit ?? directives.types.get(getNamedType(type).name);
    const nullable = getNullableType(type);
    if (isListType(nullable))
      return { weight, item: inputCost(nullable.ofType as GraphQLInputType, weight), inputObject: undefined };
    return { weight, item: undefined, inputObject: isInputObjectType(nullable) ? nullable.name : undefined };
  };

  const fieldsOf = new Map<string, ReadonlyMap<string, FieldCostInfo>>();
  const inputObjects = new Map<string, ReadonlyMap<string, InputCost>>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (isInputObjectType(type)) {
      const fields = new Map<string, InputCost>();
      for (const field of Object.values(type.getFields())) {
        fields.set(field.name, inputCost(field.type, directives.inputFields.get(fieldKey(type.name, field.name))));
      }
      inputObjects.set(type.name, fields);
      continue;
    }
    if (!isCompositeType(type)) continue;
    const definitions: GraphQLField<unknown, unknown>[] = isUnionType(type) ? [] : Object.values(type.getFields());
    if (type === schema.getQueryType()) definitions.push(SchemaMetaFieldDef, TypeMetaFieldDef);
    const fields = new Map<string, FieldCostInfo>();
    for (const definition of definitions) {
      const key = fieldKey(type.name, definition.name);
      const declared = directives.fields.get(key);
      const named = getNamedType(definition.type);
      const composite = isCompositeType(named);
      const args = new Map<string, InputCost>();
      for (const argument of definition.args) {
        args.set(
          argument.name,
          inputCost(argument.type, directives.arguments.get(argumentKey(type.name, definition.name, argument.name))),
        );
      }
      fields.set(definition.name, {
        key,
        definition,
        selectionType: composite ? named.name : undefined,
        list: isListType(getNullableType(definition.type)),
        weight: declared?.weight ?? directives.types.get(named.name) ?? (composite ? 1 : 0),
        listSize: declared?.listSize,
        sizedFields: declared?.listSize?.sizedFields ? new Set(declared.listSize.sizedFields) : undefined,
        arguments: args,
      });
    }
    fieldsOf.set(type.name, fields);
  }

  const types = new Map<string, TypeCostInfo>();
  for (const [name, fields] of fieldsOf) {
    const type = schema.getType(name);
    const abstract = isAbstractType(type);
    const possibleTypes = new Set(abstract ? schema.getPossibleTypes(type).map((t) => t.name) : []);
    types.set(name, {
      name,
      abstract,
      possibleTypes,
      costVaries: [...possibleTypes].some((possible) =>
        [...fields].some(([field, cost]) => !sameCost(cost, fieldsOf.get(possible)?.get(field))),
      ),
      fields,
      mutationRoot: type === schema.getMutationType(),
    });
  }
  return { schema, directives, types, inputObjects };
}

function sameCost(a: FieldCostInfo, b: FieldCostInfo | undefined): boolean {
  if (!b || a.weight !== b.weight || JSON.stringify(a.listSize) !== JSON.stringify(b.listSize)) return false;
  return [...a.arguments].every(([name, input]) => JSON.stringify(input) === JSON.stringify(b.arguments.get(name)));
}

export function rootType(model: CostModel, operation: OperationDefinitionNode): TypeCostInfo {
  const root = model.schema.getRootType(operation.operation);
  const type = root && model.types.get(root.name);
  if (!type) throw new Error(`the cost model's schema has no ${operation.operation} type`);
  return type;
}

export function typeNamed(model: CostModel, name: string): TypeCostInfo {
  const type = model.types.get(name);
  // Validation against the API schema ran first; a miss means the model was built from another supergraph.
  if (!type) throw new Error(`the cost model's schema has no composite type ${name}`);
  return type;
}

export function fieldNamed(type: TypeCostInfo, name: string): FieldCostInfo {
  const field = type.fields.get(name);
  if (!field) throw new Error(`the cost model's schema has no field ${type.name}.${name}`);
  return field;
}

/** Whether a fragment with type condition `condition` applies to an object or position of `type`. */
export function appliesTo(condition: TypeCostInfo, type: TypeCostInfo): boolean {
  return condition === type || condition.possibleTypes.has(type.name);
}

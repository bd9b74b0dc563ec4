/**
 * The part of the API schema a caller may call: what introspection answers and `/schema.graphql` prints for them.
 * A field is visible when the gate's rule lets the caller select it (authz/gate.ts `callableFields`); a type is
 * visible when a visible field, argument, union or interface still leads to it from a root type, and an object or
 * interface left without fields goes with every field that returned it. So a developer never learns the names of
 * fields or types they could not call, and `@inaccessible` elements are absent already (not in the API schema).
 *
 * Callers differ in few ways (roles, scopes): schemas are cached per distinct set of decisions, not per caller.
 */
import {
  Kind,
  buildASTSchema,
  getNamedType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  parse,
  printSchema,
  type DefinitionNode,
  type DocumentNode,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import type { AuthorizationGate } from '../authz/gate';
import { createCountBoundedCache } from '../cache';
import type { Caller } from '../request';

/** Distinct decision sets kept; each is a small schema. Roles and scopes combine into few sets in practice. */
const DEFAULT_CACHE_SIZE = 64;

export interface VisibleSchemas {
  forCaller(caller: Caller): Promise<GraphQLSchema>;
}

export function createVisibleSchemas(gate: AuthorizationGate, cacheSize = DEFAULT_CACHE_SIZE): VisibleSchemas {
  const sdl = parse(printSchema(gate.schema));
  const cache = createCountBoundedCache<GraphQLSchema>({ name: 'visible-schemas', maxEntries: cacheSize });
  return {
    async forCaller(caller) {
      const callable = await gate.callableFields(caller);
      const key = [...callable].sort().join(',');
      let schema = cache.get(key);
      if (!schema) {
        schema = filterSchema(gate.schema, sdl, callable);
        cache.set(key, schema);
      }
      return schema;
    },
  };
}

/** `Type.field` names the caller may select → the schema with everything else removed. */
export function filterSchema(schema: GraphQLSchema, sdl: DocumentNode, callable: ReadonlySet<string>): GraphQLSchema {
  const fieldsOf = visibleFields(schema, callable);
  const reachable = reachableTypes(schema, fieldsOf);
  const definitions: DefinitionNode[] = [];
  for (const definition of sdl.definitions) {
    switch (definition.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_DEFINITION: {
        if (!reachable.has(definition.name.value)) break;
        const fields = fieldsOf.get(definition.name.value) ?? new Set();
        definitions.push({
          ...definition,
          fields: definition.fields?.filter((field) => fields.has(field.name.value)),
          interfaces: definition.interfaces?.filter((i) => reachable.has(i.name.value)),
        });
        break;
      }
      case Kind.UNION_TYPE_DEFINITION:
        if (reachable.has(definition.name.value)) {
          definitions.push({ ...definition, types: definition.types?.filter((t) => reachable.has(t.name.value)) });
        }
        break;
      case Kind.SCALAR_TYPE_DEFINITION:
      case Kind.ENUM_TYPE_DEFINITION:
      case Kind.INPUT_OBJECT_TYPE_DEFINITION:
        if (reachable.has(definition.name.value)) definitions.push(definition);
        break;
      case Kind.SCHEMA_DEFINITION:
        definitions.push({
          ...definition,
          operationTypes: definition.operationTypes.filter((op) => reachable.has(op.type.name.value)),
        });
        break;
      default:
        definitions.push(definition);
    }
  }
  return buildASTSchema({ kind: Kind.DOCUMENT, definitions }, { assumeValidSDL: true });
}

/**
 * Visible fields per object and interface type, to a fixed point: a field whose type has no visible field left is
 * removed, which may empty its own type. An interface keeps a field only while every implementation does, so the
 * filtered schema stays valid.
 */
function visibleFields(schema: GraphQLSchema, callable: ReadonlySet<string>): Map<string, Set<string>> {
  const fieldsOf = new Map<string, Set<string>>();
  const types = Object.values(schema.getTypeMap()).filter((type) => !type.name.startsWith('__'));
  for (const type of types) {
    if (isObjectType(type)) {
      fieldsOf.set(
        type.name,
        new Set(Object.keys(type.getFields()).filter((name) => callable.has(`${type.name}.${name}`))),
      );
    }
  }
  for (const type of types) {
    if (!isInterfaceType(type)) continue;
    const implementations = schema.getPossibleTypes(type);
    fieldsOf.set(
      type.name,
      new Set(
        Object.keys(type.getFields()).filter((name) =>
          implementations.every((impl) => fieldsOf.get(impl.name)?.has(name)),
        ),
      ),
    );
  }
  const isEmpty = (type: GraphQLNamedType): boolean => {
    if (isObjectType(type) || isInterfaceType(type)) return (fieldsOf.get(type.name)?.size ?? 0) === 0;
    if (isUnionType(type)) return type.getTypes().every(isEmpty);
    return false;
  };
  let changed = true;
  while (changed) {
    changed = false;
    for (const type of types) {
      if (!isObjectType(type) && !isInterfaceType(type)) continue;
      const visible = fieldsOf.get(type.name)!;
      for (const name of visible) {
        if (isEmpty(getNamedType(type.getFields()[name]!.type))) {
          visible.delete(name);
          changed = true;
        }
      }
    }
  }
  return fieldsOf;
}

/** Types a client can reach from a root through visible fields, their arguments, unions and interfaces. */
function reachableTypes(schema: GraphQLSchema, fieldsOf: ReadonlyMap<string, ReadonlySet<string>>): Set<string> {
  const reached = new Set<string>();
  const visit = (type: GraphQLNamedType): void => {
    if (reached.has(type.name)) return;
    if ((isObjectType(type) || isInterfaceType(type)) && (fieldsOf.get(type.name)?.size ?? 0) === 0) return;
    reached.add(type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      const fields = type.getFields();
      for (const name of fieldsOf.get(type.name) ?? []) {
        const field = fields[name]!;
        visit(getNamedType(field.type));
        for (const arg of field.args) visit(getNamedType(arg.type));
      }
      if (isInterfaceType(type)) schema.getPossibleTypes(type).forEach(visit);
      else type.getInterfaces().forEach(visit);
    } else if (isUnionType(type)) {
      type.getTypes().forEach(visit);
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) visit(getNamedType(field.type));
    }
  };
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (root) visit(root);
  }
  return reached;
}

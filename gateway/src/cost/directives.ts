/**
 * The cost weights the schema declares with the IBM cost directives, `@cost(weight)` and `@listSize(...)`.
 *
 * They are read from the composed supergraph SDL: the gateway's API schema strips every directive, so that is the
 * only place they survive. Their names are not fixed: a schema names them through `@link`, so
 * `@link(url: "https://specs.apollo.dev/cost/v0.1", as: "x")` makes them `@x` and `@x__listSize`, an import can
 * rename one (`import: [{ name: "@listSize", as: "@size" }]`), and a subgraph gets them from the federation spec
 * (`@link(url: ".../federation/v2.9", import: ["@cost"])`, otherwise `@federation__cost`). A schema with no
 * `@link` at all uses the plain names of the IBM specification.
 */
import {
  Kind,
  parse,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type InputValueDefinitionNode,
} from 'graphql';

export interface ListSize {
  /** The size to assume when no slicing argument gives one. */
  readonly assumedSize?: number;
  /** Arguments whose value is the list's size (`first`, `last`); the largest given one wins. */
  readonly slicingArguments?: readonly string[];
  /** Child fields the size applies to instead of the field itself, e.g. a connection's `edges`. */
  readonly sizedFields?: readonly string[];
  /** When slicing arguments are declared, exactly one of them must have a value. */
  readonly requireOneSlicingArgument: boolean;
}

export interface FieldCost {
  readonly weight?: number;
  readonly listSize?: ListSize;
}

export interface CostDirectives {
  /** Keyed by `fieldKey(type, field)`. */
  readonly fields: ReadonlyMap<string, FieldCost>;
  /** `@cost` on an object, scalar or enum: the weight of a field of that type that has no weight of its own. */
  readonly types: ReadonlyMap<string, number>;
  /** Keyed by `argumentKey(type, field, argument)`. */
  readonly arguments: ReadonlyMap<string, number>;
  /** Keyed by `fieldKey(inputType, field)`. */
  readonly inputFields: ReadonlyMap<string, number>;
}

/** The names the two directives have in one schema; a name is absent when the schema does not link it. */
export interface CostDirectiveNames {
  readonly cost: ReadonlySet<string>;
  readonly listSize: ReadonlySet<string>;
}

export function fieldKey(typeName: string, fieldName: string): string {
  return `${typeName}.${fieldName}`;
}

export function argumentKey(typeName: string, fieldName: string, argumentName: string): string {
  return `${typeName}.${fieldName}(${argumentName}:)`;
}

const LINK_SPEC = 'https://specs.apollo.dev/link';
const COST_SPEC = 'https://specs.apollo.dev/cost';
const FEDERATION_SPEC = 'https://specs.apollo.dev/federation';
/** `@cost` and `@listSize` entered the federation spec in 2.9. */
const FEDERATION_COST_SINCE: readonly [number, number] = [2, 9];

interface LinkedSpec {
  identity: string;
  name: string;
  version: readonly [number, number];
}

/** `https://specs.apollo.dev/cost/v0.1` → identity `https://specs.apollo.dev/cost`, name `cost`, version 0.1. */
function parseSpecUrl(url: string): LinkedSpec | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const segments = parsed.pathname.split('/').filter((s) => s.length > 0);
  const version = /^v(\d+)\.(\d+)$/.exec(segments.at(-1) ?? '');
  const name = segments.at(-2);
  if (!version || !name) return undefined;
  return {
    identity: `${parsed.origin}/${segments.slice(0, -1).join('/')}`,
    name,
    version: [Number(version[1]), Number(version[2])],
  };
}

function argumentValue(directive: ConstDirectiveNode, name: string): unknown {
  const argument = directive.arguments?.find((a) => a.name.value === name);
  return argument ? valueFromASTUntyped(argument.value) : undefined;
}

function schemaDirectives(document: DocumentNode): ConstDirectiveNode[] {
  const out: ConstDirectiveNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.SCHEMA_DEFINITION || definition.kind === Kind.SCHEMA_EXTENSION) {
      out.push(...(definition.directives ?? []));
    }
  }
  return out;
}

/**
 * The local name of `@<directive>` from a linked spec: the import's `as`, the plain name when imported without
 * one, `@<prefix>` for the spec's eponymous directive, otherwise `@<prefix>__<directive>`.
 */
function localName(link: ConstDirectiveNode, spec: LinkedSpec, directive: string): string {
  const imports = argumentValue(link, 'import');
  if (Array.isArray(imports)) {
    for (const entry of imports) {
      if (entry === `@${directive}`) return directive;
      if (typeof entry === 'object' && entry !== null && (entry as { name?: unknown }).name === `@${directive}`) {
        const alias = (entry as { as?: unknown }).as;
        return typeof alias === 'string' ? alias.replace(/^@/, '') : directive;
      }
    }
  }
  const as = argumentValue(link, 'as');
  const prefix = typeof as === 'string' ? as : spec.name;
  return directive === spec.name ? prefix : `${prefix}__${directive}`;
}

function atLeast(version: readonly [number, number], minimum: readonly [number, number]): boolean {
  return version[0] > minimum[0] || (version[0] === minimum[0] && version[1] >= minimum[1]);
}

/** Resolves what `@cost` and `@listSize` are called in this schema, following its `@link`s. */
export function costDirectiveNames(document: DocumentNode): CostDirectiveNames {
  const directives = schemaDirectives(document);
  // The link spec names itself: `@link(url: ".../link/v1.0", as: "l")` means links are written `@l(...)`.
  let linkName = 'link';
  for (const directive of directives) {
    const url = argumentValue(directive, 'url');
    const spec = typeof url === 'string' ? parseSpecUrl(url) : undefined;
    if (spec?.identity !== LINK_SPEC) continue;
    const as = argumentValue(directive, 'as');
    const name = typeof as === 'string' ? as : 'link';
    if (directive.name.value === name) linkName = name;
  }
  const links = directives.filter((d) => d.name.value === linkName);
  if (links.length === 0) return { cost: new Set(['cost']), listSize: new Set(['listSize']) };

  const cost = new Set<string>();
  const listSize = new Set<string>();
  for (const link of links) {
    const url = argumentValue(link, 'url');
    const spec = typeof url === 'string' ? parseSpecUrl(url) : undefined;
    if (!spec) continue;
    const fromCostSpec = spec.identity === COST_SPEC;
    const fromFederation = spec.identity === FEDERATION_SPEC && atLeast(spec.version, FEDERATION_COST_SINCE);
    if (!fromCostSpec && !fromFederation) continue;
    cost.add(localName(link, spec, 'cost'));
    listSize.add(localName(link, spec, 'listSize'));
  }
  return { cost, listSize };
}

export class CostDirectiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostDirectiveError';
  }
}

function nonNegativeInteger(value: unknown, where: string, what: string): number {
  // A negative weight would let a selection subtract from its siblings: budgets assume a cost never goes down.
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new CostDirectiveError(`${where}: ${what} must be a non-negative integer`);
  }
  return value as number;
}

function stringList(value: unknown, where: string, what: string): readonly string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new CostDirectiveError(`${where}: ${what} must be a list of strings`);
  }
  return value as string[];
}

function single(
  directives: readonly ConstDirectiveNode[] | undefined,
  names: ReadonlySet<string>,
  where: string,
): ConstDirectiveNode | undefined {
  const found = (directives ?? []).filter((d) => names.has(d.name.value));
  if (found.length > 1) throw new CostDirectiveError(`${where}: @${found[0]?.name.value} is not repeatable`);
  return found[0];
}

function weightOf(
  directives: readonly ConstDirectiveNode[] | undefined,
  names: CostDirectiveNames,
  where: string,
): number | undefined {
  const directive = single(directives, names.cost, where);
  return directive ? nonNegativeInteger(argumentValue(directive, 'weight'), where, 'weight') : undefined;
}

function listSizeOf(field: FieldDefinitionNode, names: CostDirectiveNames, where: string): ListSize | undefined {
  const directive = single(field.directives, names.listSize, where);
  if (!directive) return undefined;
  const assumed = argumentValue(directive, 'assumedSize');
  const slicingArguments = stringList(argumentValue(directive, 'slicingArguments'), where, 'slicingArguments');
  const sizedFields = stringList(argumentValue(directive, 'sizedFields'), where, 'sizedFields');
  const requireOne = argumentValue(directive, 'requireOneSlicingArgument');
  for (const name of slicingArguments ?? []) {
    if (!field.arguments?.some((a) => a.name.value === name)) {
      throw new CostDirectiveError(`${where}: slicing argument "${name}" is not an argument of the field`);
    }
  }
  if (requireOne !== undefined && requireOne !== null && typeof requireOne !== 'boolean') {
    throw new CostDirectiveError(`${where}: requireOneSlicingArgument must be a boolean`);
  }
  return {
    ...(assumed === undefined || assumed === null
      ? {}
      : { assumedSize: nonNegativeInteger(assumed, where, 'assumedSize') }),
    ...(slicingArguments ? { slicingArguments } : {}),
    ...(sizedFields ? { sizedFields } : {}),
    // The directive's declared default is true.
    requireOneSlicingArgument: requireOne ?? true,
  };
}

/**
 * Collects every weight and list size the schema declares. Throws `CostDirectiveError` on a malformed directive:
 * a supergraph with a broken cost model should stop the gateway at startup, not estimate wrongly for months.
 */
export function readCostDirectives(sdl: DocumentNode | string): CostDirectives {
  const document = typeof sdl === 'string' ? parse(sdl) : sdl;
  const names = costDirectiveNames(document);
  const fields = new Map<string, FieldCost>();
  const types = new Map<string, number>();
  const args = new Map<string, number>();
  const inputFields = new Map<string, number>();

  const readInputValues = (
    values: readonly InputValueDefinitionNode[] | undefined,
    key: (name: string) => string,
    into: Map<string, number>,
  ) => {
    for (const value of values ?? []) {
      const where = key(value.name.value);
      const weight = weightOf(value.directives, names, where);
      if (weight !== undefined) into.set(where, weight);
    }
  };

  for (const definition of document.definitions) {
    switch (definition.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION: {
        const typeName = definition.name.value;
        if (definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.OBJECT_TYPE_EXTENSION) {
          const weight = weightOf(definition.directives, names, typeName);
          if (weight !== undefined) types.set(typeName, weight);
        }
        for (const field of definition.fields ?? []) {
          const key = fieldKey(typeName, field.name.value);
          const weight = weightOf(field.directives, names, key);
          const listSize = listSizeOf(field, names, key);
          if (weight !== undefined || listSize !== undefined) {
            fields.set(key, { ...(weight === undefined ? {} : { weight }), ...(listSize ? { listSize } : {}) });
          }
          readInputValues(field.arguments, (arg) => argumentKey(typeName, field.name.value, arg), args);
        }
        break;
      }
      case Kind.SCALAR_TYPE_DEFINITION:
      case Kind.SCALAR_TYPE_EXTENSION:
      case Kind.ENUM_TYPE_DEFINITION:
      case Kind.ENUM_TYPE_EXTENSION: {
        const weight = weightOf(definition.directives, names, definition.name.value);
        if (weight !== undefined) types.set(definition.name.value, weight);
        break;
      }
      case Kind.INPUT_OBJECT_TYPE_DEFINITION:
      case Kind.INPUT_OBJECT_TYPE_EXTENSION: {
        const typeName = definition.name.value;
        readInputValues(definition.fields, (field) => fieldKey(typeName, field), inputFields);
        break;
      }
      default:
        break;
    }
  }
  return { fields, types, arguments: args, inputFields };
}

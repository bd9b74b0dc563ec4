/**
 * Persisted-operation manifests in Apollo's format (`apollo-persisted-query-manifest`, version 1): the operations
 * one client of one tenant may run, each named by the SHA-256 of its body. This is the one place that says what a
 * valid manifest is; codegen writes them (schema/operations/manifest-plugin.cjs), the registry stores them, the
 * gateway serves them.
 */
import { createHash } from 'node:crypto';
import { GraphQLError, Kind, parse, validate, type GraphQLSchema } from 'graphql';

export const MANIFEST_FORMAT = 'apollo-persisted-query-manifest';

export type PersistedOperationType = 'query' | 'mutation' | 'subscription';

export interface PersistedOperation {
  readonly id: string;
  readonly name: string;
  readonly type: PersistedOperationType;
  readonly body: string;
}

export interface PersistedQueryManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: 1;
  readonly operations: readonly PersistedOperation[];
}

/**
 * The client a manifest belongs to, which an API key's `manifest` names. Frontends publish theirs as
 * `FRONTEND_MANIFEST` (the tenant's safelist).
 */
const MANIFEST_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function isManifestName(value: unknown): value is string {
  return typeof value === 'string' && MANIFEST_NAME_PATTERN.test(value);
}

/** By convention the tenant's browser frontends publish under this client name; it is the safelist's source. */
export const FRONTEND_MANIFEST = 'storefront';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isOperationId(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

export function operationId(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/** Limits that keep one publish from storing more than a gateway should hold in memory per client. */
export const MAX_MANIFEST_OPERATIONS = 1_000;
export const MAX_OPERATION_BODY_LENGTH = 64 * 1024;

/**
 * Checks a manifest's shape and that each operation is what its entry says: the id is the body's SHA-256, the body
 * holds exactly one operation of that name and type, and it validates against `schema` (the supergraph's API
 * schema). Returns the manifest typed, or every problem found.
 */
export function checkManifest(
  value: unknown,
  schema: GraphQLSchema,
): { manifest: PersistedQueryManifest } | { problems: string[] } {
  if (typeof value !== 'object' || value === null) return { problems: ['the manifest must be a JSON object'] };
  const { format, version, operations } = value as Record<string, unknown>;
  const problems: string[] = [];
  if (format !== MANIFEST_FORMAT) problems.push(`format must be "${MANIFEST_FORMAT}"`);
  if (version !== 1) problems.push('version must be 1');
  if (!Array.isArray(operations) || operations.length === 0 || operations.length > MAX_MANIFEST_OPERATIONS) {
    problems.push(`operations must be a list of 1–${MAX_MANIFEST_OPERATIONS} operations`);
    return { problems };
  }
  const seen = new Set<string>();
  const checked: PersistedOperation[] = [];
  operations.forEach((entry: unknown, index) => {
    const where = `operations[${index}]`;
    const operation = checkOperation(entry, schema);
    if ('problems' in operation) {
      problems.push(...operation.problems.map((problem) => `${where}: ${problem}`));
      return;
    }
    if (seen.has(operation.id)) problems.push(`${where}: id ${operation.id} appears twice`);
    seen.add(operation.id);
    checked.push(operation);
  });
  if (problems.length > 0) return { problems };
  return { manifest: { format: MANIFEST_FORMAT, version: 1, operations: checked } };
}

function checkOperation(entry: unknown, schema: GraphQLSchema): PersistedOperation | { problems: string[] } {
  if (typeof entry !== 'object' || entry === null)
    return { problems: ['must be an object with id, name, type and body'] };
  const { id, name, type, body } = entry as Record<string, unknown>;
  if (typeof body !== 'string' || body.length === 0 || body.length > MAX_OPERATION_BODY_LENGTH) {
    return { problems: [`body must be a GraphQL document of at most ${MAX_OPERATION_BODY_LENGTH} characters`] };
  }
  const problems: string[] = [];
  if (id !== operationId(body)) problems.push('id must be the SHA-256 (hex) of body');
  let document;
  try {
    document = parse(body);
  } catch (error) {
    return {
      problems: [...problems, `body does not parse: ${error instanceof GraphQLError ? error.message : String(error)}`],
    };
  }
  const definitions = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const [definition] = definitions;
  if (definitions.length !== 1 || !definition)
    return { problems: [...problems, 'body must hold exactly one operation'] };
  if (typeof name !== 'string' || definition.name?.value !== name)
    problems.push('name must be the name of the operation in body');
  if (type !== definition.operation) problems.push(`type must be "${definition.operation}"`);
  for (const error of validate(schema, document)) problems.push(`does not validate: ${error.message}`);
  if (problems.length > 0) return { problems };
  return { id: id as string, name: name as string, type: definition.operation, body };
}

/** Calls to the gateway's developer-only tools (../developer-tools.ts): never executes the operation. */
import { Kind, parse, type DocumentNode } from 'graphql';
import { PREVIEW_ROLES_HEADER } from './headers';

export interface Estimate {
  requestedQueryCost: number;
  maximumCost: number;
  overMaximum: boolean;
  costMode: string;
  plan: string;
  budget: { capacity: number; restoreRate: number };
}

export type ToolAnswer<T> = { ok: true; value: T } | { ok: false; message: string };

export interface Identity {
  readonly token: string;
  /** The persona's roles (View as), or none for the token's own roles. */
  readonly previewRoles: readonly string[];
}

export function identityHeaders(identity: Identity): Record<string, string> {
  return {
    authorization: `Bearer ${identity.token}`,
    ...(identity.previewRoles.length > 0 ? { [PREVIEW_ROLES_HEADER]: identity.previewRoles.join(',') } : {}),
  };
}

async function callTool<T>(
  path: string,
  identity: Identity,
  body: { query: string; variables?: unknown },
  signal: AbortSignal,
): Promise<ToolAnswer<T>> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...identityHeaders(identity) },
    body: JSON.stringify(body),
    signal,
  });
  const json = (await response.json().catch(() => undefined)) as
    (T & { errors?: { message?: string; extensions?: { code?: string } }[] }) | undefined;
  if (response.ok && json) return { ok: true, value: json };
  const error = json?.errors?.[0];
  return { ok: false, message: `${error?.extensions?.code ?? response.status}: ${error?.message ?? 'refused'}` };
}

export const fetchEstimate = (identity: Identity, body: { query: string; variables?: unknown }, signal: AbortSignal) =>
  callTool<Estimate>('/explorer/estimate', identity, body, signal);

export const fetchPlan = (identity: Identity, body: { query: string; variables?: unknown }, signal: AbortSignal) =>
  callTool<{ queryPlan: string }>('/explorer/plan', identity, body, signal);

/** The variables editor's text as an object, or undefined when it is empty or not (yet) valid JSON. */
export function variablesOf(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The required variables (`$name: Type!` without a default) of the document's one operation that `variables` does
 * not give. Asked before a tool is called: a document typed before its variables would only get the gateway's 400.
 * None when the text does not parse or holds several operations — the gateway's answer says what is wrong then.
 */
export function missingVariables(query: string, variables: unknown): string[] {
  let document: DocumentNode;
  try {
    document = parse(query, { noLocation: true });
  } catch {
    return [];
  }
  const operations = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1) return [];
  const given =
    typeof variables === 'object' && variables !== null && !Array.isArray(variables)
      ? (variables as Record<string, unknown>)
      : {};
  return (operations[0]!.variableDefinitions ?? [])
    .filter(
      (definition) =>
        definition.type.kind === Kind.NON_NULL_TYPE &&
        definition.defaultValue === undefined &&
        (given[definition.variable.name.value] ?? null) === null,
    )
    .map((definition) => definition.variable.name.value);
}

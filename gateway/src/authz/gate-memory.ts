/**
 * What the authorization gate's per-document cache keeps alive, estimated in heap bytes for its byte bound
 * (cache.ts): the document, each analysis of it (selected fields, their positions and paths) and each decision plan
 * (a resolve info per decision, the coerced variables). Constants are V8 sizes of the objects gate.ts builds, rounded
 * up.
 */
import type { DocumentNode } from 'graphql';
import { documentBytes, stringBytes } from '../cache';
import type { OperationAnalysis } from './analysis';

const FIELD_BYTES = 112;
const CHECK_BYTES = 64;
const OCCURRENCE_BYTES = 96;
const PATH_STEP_BYTES = 40;
const EXCLUDED_BYTES = 24;
/** A resolve info (ten fields), its path chain and a field-node array; the arguments are added. */
const DECISION_BYTES = 480;
const PLAN_CHECK_BYTES = 48;
const PLAN_BYTES = 128;

/** Sizes already estimated, by object: an entry is measured again whenever one of its parts is added. */
const measured = new WeakMap<object, number>();

function memo<T extends object>(value: T, estimate: (value: T) => number): number {
  let bytes = measured.get(value);
  if (bytes === undefined) measured.set(value, (bytes = estimate(value)));
  return bytes;
}

export function documentEntryBytes(document: DocumentNode): number {
  return memo(document, documentBytes);
}

export function analysisBytes(analysis: OperationAnalysis): number {
  return memo(analysis, (a) => {
    let bytes = a.excluded.size * EXCLUDED_BYTES;
    for (const field of a.fields) bytes += FIELD_BYTES + field.checks.length * CHECK_BYTES;
    for (const occurrence of a.occurrences) bytes += OCCURRENCE_BYTES + occurrence.path.length * PATH_STEP_BYTES;
    return bytes;
  });
}

/** `variablesKey`: the request's variables as the plan is keyed by them; the plan holds them coerced. */
export function decisionPlanBytes(
  plan: {
    readonly decisions: readonly { readonly args: Record<string, unknown> }[];
    readonly checks: readonly unknown[];
  },
  variablesKey: string,
): number {
  return memo(plan, (p) => {
    let bytes = PLAN_BYTES + 2 * stringBytes(variablesKey) + p.checks.length * PLAN_CHECK_BYTES;
    for (const decision of p.decisions) bytes += DECISION_BYTES + Object.keys(decision.args).length * 64;
    return bytes;
  });
}

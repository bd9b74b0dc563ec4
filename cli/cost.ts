/**
 * `tollgate cost`: prices a GraphQL document the way the gateway's cost stage would — same estimator
 * (gateway/src/cost/), same supergraph (SUPERGRAPH_PATH), the tenant's plan from the control plane — without
 * executing anything, so a client's CI fails (exit 1) on an operation the gateway would refuse with
 * COST_ESTIMATED_TOO_EXPENSIVE, before it ships. `--max-cost` prices against a given maximum instead, for a CI
 * without access to the control plane.
 */
import { readFileSync, statSync } from 'node:fs';
import { createCostEstimator, createCostModel } from '../gateway/src/cost/estimate';
import { priceDocument } from '../gateway/src/cost/price';
import { buildApiSchema } from '../gateway/src/schema/api-schema';
import { UsageError, positiveInteger, string, type Command, type Values } from './command';
import { requireTenant } from './known';

/** A document bigger than this is no client operation; it is refused before it is read. */
const MAX_DOCUMENT_BYTES = 1_048_576;
const STDIN = '-';

async function readDocument(file: string, stdin: (() => Promise<string>) | undefined): Promise<string> {
  if (file === STDIN) {
    if (!stdin) throw new UsageError('standard input cannot be read here: give a file');
    const text = await stdin();
    if (Buffer.byteLength(text) > MAX_DOCUMENT_BYTES)
      throw new Error(`standard input is larger than ${MAX_DOCUMENT_BYTES} bytes: not a client operation`);
    return text;
  }
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new Error(`cannot read ${file}: no such file`);
  }
  if (size > MAX_DOCUMENT_BYTES)
    throw new Error(`${file} is larger than ${MAX_DOCUMENT_BYTES} bytes: not a client operation`);
  return readFileSync(file, 'utf8');
}

function variablesOf(values: Values): Record<string, unknown> {
  const text = string(values, 'variables');
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--variables must be a JSON object (not ${JSON.stringify(text.slice(0, 40))})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError('--variables must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Where the maximum comes from: the tenant's plan, or --max-cost. */
interface Limit {
  maximum: number;
  tenant?: string;
  plan?: string;
  costMode?: string;
}

export const COST_COMMANDS: Record<string, Command> = {
  cost: {
    usage: 'cost <file.graphql|-> (--tenant <id> | --max-cost <n>) [--operation <name>] [--variables <json>]',
    summary:
      "Prices a GraphQL document with the gateway's cost estimator and the supergraph (SUPERGRAPH_PATH) without executing it, against the maximum of the tenant's plan (--tenant, read from the control plane) or --max-cost. Exit 0 when within the maximum, 1 when over it (the gateway refuses it with COST_ESTIMATED_TOO_EXPENSIVE) or when the document does not validate, 2 for a usage error. --operation picks one of several operations; --variables are the request's variables; - reads the document from standard input. Only cost is priced: depth and other plan limits, and authorization, are checked by the gateway.",
    options: {
      tenant: { type: 'string' },
      'max-cost': { type: 'string' },
      operation: { type: 'string' },
      variables: { type: 'string' },
    },
    positionals: ['file'],
    async run({ values, positionals, io, config, controlPlane, print }) {
      const tenantId = string(values, 'tenant');
      const maxCost = string(values, 'max-cost');
      if ((tenantId === undefined) === (maxCost === undefined))
        throw new UsageError('give either --tenant <id> (its plan sets the maximum) or --max-cost <n>');
      const variables = variablesOf(values);
      const operationName = string(values, 'operation');
      const file = positionals[0]!;
      const source = await readDocument(file, io.stdin);

      let limit: Limit;
      if (tenantId === undefined) {
        limit = { maximum: positiveInteger(maxCost!, '--max-cost') };
      } else {
        const registry = await controlPlane();
        await requireTenant(registry, tenantId);
        const tenant = (await registry.tenants.getTenant(tenantId))!;
        limit = {
          maximum: tenant.plan.limits.maxCost,
          tenant: tenant.id,
          plan: tenant.plan.id,
          costMode: tenant.costMode,
        };
      }

      const supergraph = readFileSync(config().supergraphPath, 'utf8');
      const result = priceDocument({
        schema: buildApiSchema(supergraph),
        estimator: createCostEstimator({ model: createCostModel(supergraph) }),
        source,
        ...(operationName === undefined ? {} : { operationName }),
        variables,
        maximum: limit.maximum,
      });
      const origin = file === STDIN ? 'standard input' : file;
      if (!result.ok) {
        const message = `cannot price ${origin}:\n  ${result.problems.join('\n  ')}`;
        if (result.kind === 'operation') throw new UsageError(message);
        throw new Error(message);
      }
      const over = result.overMaximum === true;
      const whose = limit.tenant === undefined ? '--max-cost' : `tenant ${limit.tenant}'s plan ${limit.plan}`;
      const name = `${result.operationName ?? '(anonymous)'} (${result.operationType})`;
      print(
        {
          file: origin,
          operationName: result.operationName,
          operationType: result.operationType,
          cost: result.cost,
          maximum: limit.maximum,
          overMaximum: over,
          ...(limit.tenant === undefined ? {} : { tenant: limit.tenant, plan: limit.plan, costMode: limit.costMode }),
        },
        () => {
          const verdict = over
            ? `${name}: estimated cost ${result.cost} exceeds the maximum of ${limit.maximum} of ${whose}; the gateway refuses it with COST_ESTIMATED_TOO_EXPENSIVE`
            : `${name}: estimated cost ${result.cost}, within the maximum of ${limit.maximum} of ${whose}`;
          // In measure mode the gateway runs it anyway today; the exit code still fails, ahead of enforcement.
          return over && limit.costMode === 'measure'
            ? `${verdict} (tenant ${limit.tenant} is in cost mode measure: today it is logged, not refused)`
            : verdict;
        },
      );
      return over ? 1 : 0;
    },
  },
};

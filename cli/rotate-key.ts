/**
 * `tollgate tenant rotate-key <id>`: a new data key version for the tenant in every subgraph that seals fields,
 * without downtime, through each subgraph's signed platform call (subgraphs/kit/encryption/key-admin.ts):
 *
 *   1. rotate: the new version becomes current; the old one stays readable, so reads never fail;
 *   2. re-encrypt every encrypted collection of the tenant, one bounded batch per call;
 *   3. wait until no replica's key cache can still seal with the old version (the subgraphs' cache TTL), re-encrypt
 *      once more for what was written meanwhile, then retire the old version — refused by the subgraph while any
 *      value still names it, so nothing becomes unreadable.
 *
 * Subgraphs are found as the gateway finds them (`<NAME>_URL`) and signed for with keys derived from
 * TOLLGATE_INTERNAL_SECRET (the development secret outside production).
 */
import { isTenantId } from '../common/ids';
import { loadOrCreateInternalSecret } from '../common/dev-secrets';
import { deriveSubgraphKey, INTERNAL_TOKEN_HEADER } from '../common/internal-token';
import { DEFAULT_SUBGRAPH_PORTS, type SubgraphName } from '../subgraphs/catalog';
import { signKeyAdminRequest, PLATFORM_KEYS_PATH, type KeyAdminRequest } from '../subgraphs/kit/encryption/key-admin';
import { ENCRYPTED } from '../subgraphs/migrate';
import { UsageError, positiveInteger, string, type Command } from './command';

export interface KeyTarget {
  name: SubgraphName;
  /** The subgraph's GraphQL URL (`…/graphql`); the platform path replaces its path. */
  url: string;
  key: Buffer;
}

export interface RotateOptions {
  targets: readonly KeyTarget[];
  tenantId: string;
  /** Documents per re-encryption call (default 200). */
  batchSize?: number;
  /** The longest to wait for the replicas' key caches before retiring (default 10 minutes). */
  maxWaitMs?: number;
  /** Told of progress. */
  onStep?: (line: string) => void;
}

export interface RotateResult {
  subgraph: SubgraphName;
  from: number;
  to: number;
  reencrypted: number;
  retired: boolean;
}

class PlatformCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }
}

async function call<T>(target: KeyTarget, request: KeyAdminRequest): Promise<T> {
  const body = JSON.stringify(request);
  const url = new URL(PLATFORM_KEYS_PATH, target.url);
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [INTERNAL_TOKEN_HEADER]: signKeyAdminRequest(target.key, target.name, body, request.tenantId),
    },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const error = (answer.error ?? {}) as Record<string, unknown>;
    throw new PlatformCallError(
      res.status,
      String(error.code ?? 'ERROR'),
      `${target.name}: ${String(error.message ?? `HTTP ${res.status}`)}`,
      error,
    );
  }
  return answer as T;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Both placements, whatever the tenant's is: a silo tenant's values are in its own database, and a pass over one
 * that does not exist reads nothing (the subgraph's `retire` counts stale values in both).
 */
const PLACEMENTS = ['pooled', 'silo'] as const;

async function reencryptAll(target: KeyTarget, tenantId: string, batchSize: number): Promise<number> {
  let updated = 0;
  for (const placement of PLACEMENTS) {
    for (const spec of ENCRYPTED[target.name]) {
      let after: string | undefined;
      do {
        const result = await call<{ updated: number; next?: string }>(target, {
          op: 'reencrypt',
          tenantId,
          collection: spec.collection,
          batchSize,
          placement,
          ...(after ? { after } : {}),
        });
        updated += result.updated;
        after = result.next;
      } while (after);
    }
  }
  return updated;
}

export async function rotateTenantKey(options: RotateOptions): Promise<RotateResult[]> {
  const batchSize = options.batchSize ?? 200;
  const maxWaitMs = options.maxWaitMs ?? 10 * 60_000;
  const step = options.onStep ?? (() => undefined);
  const results: RotateResult[] = [];
  for (const target of options.targets) {
    if (ENCRYPTED[target.name].length === 0) continue;
    const { from, to } = await call<{ from: number; to: number }>(target, { op: 'rotate', tenantId: options.tenantId });
    step(`${target.name}: key version ${to} is current; ${from} stays readable`);
    let reencrypted = await reencryptAll(target, options.tenantId, batchSize);
    step(`${target.name}: ${reencrypted} documents re-encrypted`);
    const deadline = Date.now() + maxWaitMs;
    let retired = false;
    while (!retired) {
      try {
        await call(target, { op: 'retire', tenantId: options.tenantId, version: from });
        retired = true;
      } catch (error) {
        if (!(error instanceof PlatformCallError) || !['TOO_EARLY', 'STALE_VALUES'].includes(error.code)) throw error;
        const waitMs = error.code === 'TOO_EARLY' ? Number(error.body.retryAfterMs ?? 1000) + 100 : 0;
        if (Date.now() + waitMs > deadline) {
          step(`${target.name}: version ${from} not retired yet (${error.code}); run rotate-key again later`);
          break;
        }
        if (waitMs > 0) {
          step(`${target.name}: waiting ${Math.ceil(waitMs / 1000)} s for the replicas' key caches`);
          await sleep(waitMs);
        }
        // Whatever a replica sealed with the old version meanwhile.
        reencrypted += await reencryptAll(target, options.tenantId, batchSize);
      }
    }
    if (retired) step(`${target.name}: version ${from} retired`);
    results.push({ subgraph: target.name, from, to, reencrypted, retired });
  }
  return results;
}

/**
 * Destroys the tenant's data and blind-index keys in every encrypting subgraph (crypto-shredding: `tenant erase`),
 * through each one's signed platform call. `absent` when no subgraph held a key (encryption off, or a re-run).
 */
export async function destroyTenantKeys(
  targets: readonly KeyTarget[],
  tenantId: string,
): Promise<'destroyed' | 'absent'> {
  let destroyed = false;
  for (const target of targets) {
    const result = await call<{ destroyed?: boolean }>(target, { op: 'destroy', tenantId });
    destroyed ||= result.destroyed === true;
  }
  return destroyed ? 'destroyed' : 'absent';
}

const HEX = /^(?:[0-9a-fA-F]{2}){32,}$/;

/** The encrypting subgraphs as the gateway's environment names them, with their derived keys. */
export function keyTargetsFromEnv(env: NodeJS.ProcessEnv): KeyTarget[] {
  const secretHex = env.TOLLGATE_INTERNAL_SECRET;
  let secret: Buffer;
  if (secretHex === undefined || secretHex === '') {
    if (env.NODE_ENV === 'production') throw new UsageError('TOLLGATE_INTERNAL_SECRET is required in production');
    secret = loadOrCreateInternalSecret();
  } else if (!HEX.test(secretHex)) {
    throw new UsageError('TOLLGATE_INTERNAL_SECRET must be hex of at least 32 bytes');
  } else secret = Buffer.from(secretHex, 'hex');
  return (Object.keys(ENCRYPTED) as SubgraphName[])
    .filter((name) => ENCRYPTED[name].length > 0)
    .map((name) => {
      const url = env[`${name.toUpperCase()}_URL`] ?? `http://127.0.0.1:${DEFAULT_SUBGRAPH_PORTS[name]}/graphql`;
      if (!/^https?:\/\/\S+$/.test(url)) throw new UsageError(`${name.toUpperCase()}_URL must be an http(s) URL`);
      return { name, url, key: deriveSubgraphKey(secret, name) };
    });
}

export const ROTATE_KEY_COMMANDS: Record<string, Command> = {
  'tenant rotate-key': {
    usage: 'tenant rotate-key <id> [--batch-size <n>] [--max-wait <seconds>]',
    summary:
      "Rotates the tenant's data key in every subgraph that encrypts fields: new version current, values re-encrypted in bounded batches through each subgraph's signed platform call, old version retired once nothing uses it. No downtime.",
    options: { 'batch-size': { type: 'string' }, 'max-wait': { type: 'string' } },
    positionals: ['id'],
    async run({ positionals, values, io, print }) {
      const tenantId = positionals[0]!;
      if (!isTenantId(tenantId)) throw new UsageError('the tenant id is not valid');
      const batch = string(values, 'batch-size');
      const batchSize = batch === undefined ? 200 : positiveInteger(batch, '--batch-size');
      if (batchSize > 1000) throw new UsageError('--batch-size is at most 1000');
      const wait = string(values, 'max-wait');
      const maxWaitMs = wait === undefined ? 600_000 : positiveInteger(wait, '--max-wait') * 1000;
      const results = await rotateTenantKey({
        targets: keyTargetsFromEnv(io.env),
        tenantId,
        batchSize,
        maxWaitMs,
        onStep: (line) => io.stderr(`${line}\n`),
      });
      print(results, () =>
        results
          .map(
            (r) =>
              `${r.subgraph}: version ${r.from} → ${r.to}, ${r.reencrypted} re-encrypted, old version ${r.retired ? 'retired' : 'kept (retry later)'}`,
          )
          .join('\n'),
      );
      return results.every((r) => r.retired) ? 0 : 1;
    },
  },
};

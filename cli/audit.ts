/**
 * `tollgate audit …`: verify a tenant's chain, read it (tail, search, NDJSON export), sign checkpoints, print the
 * public key, prune by retention. The trail lives in the control plane's database (gateway/src/audit/store.ts); the
 * signing key is AUDIT_SIGNING_KEY_FILE's, or outside production the development key (.data/secrets).
 */
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { createChainVerifier } from '../gateway/src/audit/chain';
import { AUDIT_EVENT_TYPES, type AuditEventType, type AuditRecord, type Checkpoint } from '../gateway/src/audit/event';
import { auditPolicyOf } from '../gateway/src/audit/policy';
import { pruneAll, pruneTenant, type PruneOptions } from '../gateway/src/audit/retention';
import { checkpointSignedBy, publicKeyFromPem } from '../gateway/src/audit/signing';
import type { AuditQuery, AuditStore } from '../gateway/src/audit/store';
import { auditSignerFromEnv, openAuditStore } from './audit-record';
import {
  UsageError,
  oneOf,
  positiveInteger,
  required,
  string,
  table,
  type Command,
  type Context,
  type Options,
} from './command';

const FILTER_OPTIONS: Options = {
  tenant: { type: 'string' },
  since: { type: 'string' },
  actor: { type: 'string' },
  type: { type: 'string' },
};
const FILTER_USAGE = `--tenant <id> [--since <ISO time>] [--actor <principal>] [--type ${AUDIT_EVENT_TYPES.join('|')}]`;
const TENANT_OR_PLATFORM = /^(?:_platform|[a-z0-9][a-z0-9-]{0,62})$/;

function tenantOption(context: Context): string {
  const tenant = required(context.values, 'tenant');
  if (!TENANT_OR_PLATFORM.test(tenant)) throw new UsageError(`--tenant must be a tenant id (not "${tenant}")`);
  return tenant;
}

function queryOf(context: Context): AuditQuery {
  const since = string(context.values, 'since');
  const actor = string(context.values, 'actor');
  const type = string(context.values, 'type');
  const query: AuditQuery = {};
  if (since !== undefined) {
    const date = new Date(since);
    if (Number.isNaN(date.getTime())) throw new UsageError(`--since must be an ISO date or time (not "${since}")`);
    query.since = date;
  }
  if (actor !== undefined) query.actor = actor;
  if (type !== undefined) query.type = oneOf(type, AUDIT_EVENT_TYPES, '--type') as AuditEventType;
  return query;
}

async function withStore<T>(context: Context, use: (store: AuditStore) => Promise<T>): Promise<T> {
  const store = await openAuditStore(context.io.env, context.config().controlPlane);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

const signerOf = (context: Context) => auditSignerFromEnv(context.io.env);

function verifyingKey(context: Context): KeyObject {
  const file = string(context.values, 'public-key');
  return file === undefined ? signerOf(context).publicKey : publicKeyFromPem(readFileSync(file, 'utf8'));
}

const tableOf = (records: AuditRecord[]) =>
  records.length === 0
    ? '(no events)'
    : table(
        ['SEQ', 'TIME', 'TYPE', 'ACTION', 'ACTOR', 'OUTCOME', 'CODES'],
        records.map((r) => [
          String(r.seq),
          r.time,
          r.type,
          r.action,
          r.actor.principal,
          r.outcome,
          (r.errorCodes ?? []).join(',') || '-',
        ]),
      );

export const AUDIT_COMMANDS: Record<string, Command> = {
  'audit verify': {
    usage: 'audit verify --tenant <id> [--public-key <pem file>]',
    summary:
      "Verifies a tenant's audit chain (hashes, links, sequence) against its signed checkpoints; names the first bad sequence number and exits 1 if anything was edited, deleted, reordered, inserted or truncated.",
    options: { tenant: { type: 'string' }, 'public-key': { type: 'string' } },
    async run(context) {
      const tenant = tenantOption(context);
      const publicKey = verifyingKey(context);
      const result = await withStore(context, async (store) => {
        const good: Checkpoint[] = [];
        const bad: Checkpoint[] = [];
        for (const checkpoint of await store.checkpoints(tenant))
          (checkpointSignedBy(checkpoint, publicKey) ? good : bad).push(checkpoint);
        const verifier = createChainVerifier(good, bad);
        for await (const record of store.records(tenant)) verifier.push(record);
        return { ...verifier.finish(), checkpoints: good.length };
      });
      if (!result.ok) {
        context.print(result, () => '');
        throw new Error(
          `the audit chain of ${tenant} does not verify: first bad sequence number ${result.firstBad!.seq} (${result.firstBad!.problem})`,
        );
      }
      context.print(
        result,
        () =>
          `The audit chain of ${tenant} verifies: ${result.checked} events, head ${result.head?.seq ?? 0}, ${result.checkpoints} signed checkpoints.`,
      );
    },
  },
  'audit tail': {
    usage: `audit tail ${FILTER_USAGE} [--limit <n>]`,
    summary: "Shows a tenant's latest audit events (20 unless --limit), oldest first.",
    options: { ...FILTER_OPTIONS, limit: { type: 'string' } },
    async run(context) {
      const tenant = tenantOption(context);
      const limit = Math.min(positiveInteger(string(context.values, 'limit') ?? '20', '--limit'), 10_000);
      const records = await withStore(context, (store) => store.page(tenant, queryOf(context), limit, true));
      context.print(records, () => tableOf(records));
    },
  },
  'audit search': {
    usage: `audit search ${FILTER_USAGE} [--limit <n>]`,
    summary: "Finds a tenant's audit events matching the filters (the first 100 unless --limit), oldest first.",
    options: { ...FILTER_OPTIONS, limit: { type: 'string' } },
    async run(context) {
      const tenant = tenantOption(context);
      const limit = Math.min(positiveInteger(string(context.values, 'limit') ?? '100', '--limit'), 10_000);
      const records = await withStore(context, (store) => store.page(tenant, queryOf(context), limit));
      context.print(records, () => tableOf(records));
    },
  },
  'audit export': {
    usage: `audit export ${FILTER_USAGE}`,
    summary: "Writes a tenant's audit events as NDJSON (one event per line, with seq, prevHash and hash), streamed.",
    options: FILTER_OPTIONS,
    async run(context) {
      const tenant = tenantOption(context);
      await withStore(context, async (store) => {
        for await (const record of store.records(tenant, queryOf(context)))
          context.io.stdout(`${JSON.stringify(record)}\n`);
      });
    },
  },
  'audit checkpoint': {
    usage: 'audit checkpoint [--tenant <id>]',
    summary: "Signs a checkpoint over the current head of a tenant's chain (every tenant's without --tenant).",
    options: { tenant: { type: 'string' } },
    async run(context) {
      const signer = signerOf(context);
      const only = string(context.values, 'tenant') === undefined ? undefined : tenantOption(context);
      const written = await withStore(context, async (store) => {
        const out: Checkpoint[] = [];
        for (const tenant of only ? [only] : await store.tenants()) {
          const head = await store.head(tenant);
          if (!head) continue;
          const checkpoint = signer.sign({
            tenant,
            seq: head.seq,
            hash: head.hash,
            time: new Date().toISOString(),
            kind: 'head',
          });
          await store.addCheckpoint(checkpoint);
          out.push(checkpoint);
        }
        return out;
      });
      context.print(written, () =>
        written.length === 0
          ? 'No events to checkpoint.'
          : written.map((c) => `Signed checkpoint ${c.tenant} seq ${c.seq}.`).join('\n'),
      );
    },
  },
  'audit public-key': {
    usage: 'audit public-key',
    summary: 'Prints the public key (PEM) that verifies the audit checkpoints: give it to whoever verifies.',
    async run(context) {
      const signer = signerOf(context);
      context.print({ keyId: signer.keyId, publicKey: signer.publicKeyPem() }, () => signer.publicKeyPem().trimEnd());
    },
  },
  'audit prune': {
    usage: 'audit prune [--tenant <id>]',
    summary:
      "Deletes audit events older than the tenant's plan keeps them (free 30 d, pro 1 y, enterprise 7 y by default), after a signed checkpoint at the cut.",
    options: { tenant: { type: 'string' } },
    async run(context) {
      const only = string(context.values, 'tenant') === undefined ? undefined : tenantOption(context);
      const signer = signerOf(context);
      const registry = await context.controlPlane();
      const results = await withStore(context, async (store) => {
        const options: PruneOptions = {
          store,
          signer,
          retentionDaysOf: async (tenant) => {
            const record = await registry.tenants.getTenant(tenant);
            return record ? auditPolicyOf(record.plan).retentionDays : undefined;
          },
        };
        if (!only) return pruneAll(options);
        const result = await pruneTenant(only, options);
        return result ? [result] : [];
      });
      context.print(results, () =>
        results.length === 0
          ? 'Nothing to prune.'
          : results.map((r) => `${r.tenant}: cut at seq ${r.cutSeq}, ${r.deleted} deleted.`).join('\n'),
      );
    },
  },
};

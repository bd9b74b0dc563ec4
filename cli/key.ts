/** `tollgate key …`: issue, list, revoke and rotate partner API keys. */
import { API_KEY_SCOPES, apiKeyStatus, type ApiKeyRecord } from '../gateway/src/credentials/api-keys';
import { UsageError, date, duration, list, required, requiredRenamed, string, table, type Command } from './command';
import { requireManifest, requireTenant } from './known';

function keyJson(key: ApiKeyRecord, now: number): Record<string, unknown> {
  return { ...key, status: apiKeyStatus(key, now) };
}

function issuedText(key: string, record: ApiKeyRecord, what: string): string {
  return `${what} ${record.id} for tenant ${record.tenantId} (client "${record.clientName}"), scopes ${record.scopes.join(',')}, manifest ${record.manifest}, expires ${date(record.expiresAt)}.
Store the key now; it is shown only once:

${key}`;
}

/** What the audit trail records of a key: never its secret. */
function keyDetails(record: ApiKeyRecord): Record<string, string | string[]> {
  return {
    keyId: record.id,
    client: record.clientName,
    scopes: [...record.scopes],
    manifest: record.manifest,
    expiresAt: date(record.expiresAt),
  };
}

export const KEY_COMMANDS: Record<string, Command> = {
  'key create': {
    usage: `key create --tenant <id> --client-name <text> --scopes <scope,…> --manifest <id> [--expires <duration>] [--quiet]
      scopes: ${API_KEY_SCOPES.join(', ')}`,
    summary:
      "Issues a partner API key (expires in 90d unless --expires) for one of the tenant's served manifests (--manifest, the id `manifest list` shows). --client-name is the partner client's display name, free text (formerly --client, still accepted with a warning). The key is printed once; --quiet prints it alone.",
    options: {
      tenant: { type: 'string' },
      'client-name': { type: 'string' },
      // The old spelling of --client-name (renamed in command.ts).
      client: { type: 'string' },
      scopes: { type: 'string' },
      manifest: { type: 'string' },
      expires: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
    },
    async run({ values, controlPlane, print, io, audit }) {
      const expiresInMs = duration(string(values, 'expires') ?? '90d', '--expires');
      const tenantId = required(values, 'tenant');
      const clientName = requiredRenamed(values, io, 'client-name', 'client');
      const scopes = list(required(values, 'scopes'));
      const unknownScopes = scopes.filter((scope) => !(API_KEY_SCOPES as readonly string[]).includes(scope));
      if (unknownScopes.length > 0)
        throw new UsageError(`--scopes must be among ${API_KEY_SCOPES.join(', ')} (not ${unknownScopes.join(', ')})`);
      const manifest = required(values, 'manifest');
      const registry = await controlPlane();
      await requireTenant(registry, tenantId);
      await requireManifest(registry, tenantId, manifest);
      const { key, record } = await registry.apiKeys.issue({
        tenantId,
        clientName,
        scopes,
        manifest,
        expiresAt: new Date(Date.now() + expiresInMs),
      });
      audit(record.tenantId, keyDetails(record));
      if (values.quiet && !values.json) return io.stdout(`${key}\n`);
      print({ key, ...keyJson(record, Date.now()) }, () => issuedText(key, record, 'Created API key'));
    },
  },
  'key list': {
    usage: 'key list [--tenant <id>]',
    summary: 'Lists API keys (never their secrets), with their status and when they were last used.',
    options: { tenant: { type: 'string' } },
    async run({ values, controlPlane, print }) {
      const tenantId = string(values, 'tenant');
      const keys = await (await controlPlane()).apiKeys.list(tenantId === undefined ? {} : { tenantId });
      const now = Date.now();
      print(
        keys.map((key) => keyJson(key, now)),
        () =>
          table(
            ['KEY', 'TENANT', 'STATUS', 'CLIENT', 'SCOPES', 'MANIFEST', 'EXPIRES', 'RETIRES', 'LAST USED'],
            keys.map((k) => [
              k.id,
              k.tenantId,
              apiKeyStatus(k, now),
              k.clientName,
              k.scopes.join(','),
              k.manifest,
              date(k.expiresAt),
              date(k.retiresAt),
              date(k.lastUsedAt),
            ]),
          ),
      );
    },
  },
  'key revoke': {
    usage: 'key revoke <keyId>',
    summary: 'Revokes a key: every gateway refuses it within 5 s.',
    positionals: ['keyId'],
    async run({ positionals, controlPlane, print, audit }) {
      const record = await (await controlPlane()).apiKeys.revoke(positionals[0]!);
      audit(record.tenantId, { keyId: record.id });
      print(keyJson(record, Date.now()), () => `Revoked key ${record.id} of tenant ${record.tenantId}.`);
    },
  },
  'key rotate': {
    usage: 'key rotate <keyId> [--overlap <duration>] [--expires <duration>] [--quiet]',
    summary:
      'Issues a replacement with the same tenant, scopes and manifest; the old key keeps working for --overlap (default 1h, 0 ends it now). The new key is printed once; --quiet prints it alone.',
    options: { overlap: { type: 'string' }, expires: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } },
    positionals: ['keyId'],
    async run({ values, positionals, controlPlane, print, io, audit }) {
      const overlapMs = duration(string(values, 'overlap') ?? '1h', '--overlap');
      const expires = string(values, 'expires');
      const expiresAt = expires === undefined ? undefined : new Date(Date.now() + duration(expires, '--expires'));
      const { issued, retiring } = await (
        await controlPlane()
      ).apiKeys.rotate(positionals[0]!, { overlapMs, ...(expiresAt ? { expiresAt } : {}) });
      audit(retiring.tenantId, { ...keyDetails(issued.record), replaces: retiring.id, overlapMs });
      if (values.quiet && !values.json) return io.stdout(`${issued.key}\n`);
      const now = Date.now();
      print(
        { key: issued.key, ...keyJson(issued.record, now), retiring: keyJson(retiring, now) },
        () =>
          `Key ${retiring.id} keeps working until ${date(retiring.retiresAt)}.\n${issuedText(issued.key, issued.record, 'Created replacement key')}`,
      );
    },
  },
};

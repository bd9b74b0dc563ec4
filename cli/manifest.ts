/** `tollgate manifest …`: publish, list, show and retire persisted-operation manifests. */
import { readFileSync } from 'node:fs';
import { checkManifest } from '../gateway/src/persisted/manifest';
import type { ManifestVersion } from '../gateway/src/persisted/registry';
import { buildApiSchema } from '../gateway/src/schema/api-schema';
import { UsageError, date, required, string, table, type Command, type Options, type Values } from './command';

/** `served` is the newest version not retired: the one gateways answer with. */
function manifestJson(version: ManifestVersion, served: ManifestVersion | undefined): Record<string, unknown> {
  const status = version.retiredAt ? 'retired' : served?.version === version.version ? 'served' : 'superseded';
  const { operations, ...rest } = version;
  return { ...rest, status, operations: operations.length };
}

function manifestVersion(values: Values): number | undefined {
  const text = string(values, 'version');
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError('--version must be a positive integer');
  return Number(text);
}

/** `-` names standard input, so a manifest can be piped from a build step (`… | tollgate manifest publish - …`). */
const STDIN = '-';

/**
 * Reads a manifest file (or standard input) and checks it against the API schema of the supergraph gateways serve
 * now (`supergraphSdl`: the published one, else SUPERGRAPH_PATH's).
 */
async function readManifest(file: string, supergraphSdl: string, stdin: (() => Promise<string>) | undefined) {
  if (file === STDIN && !stdin) throw new UsageError('standard input cannot be read here: give a file');
  const source = file === STDIN ? 'standard input' : file;
  let value: unknown;
  try {
    value = JSON.parse(file === STDIN ? await stdin!() : readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read ${source} as JSON: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  const checked = checkManifest(value, buildApiSchema(supergraphSdl));
  if ('problems' in checked)
    throw new Error(`the manifest was refused; nothing was published:\n  ${checked.problems.join('\n  ')}`);
  return checked.manifest;
}

const MANIFEST_SCOPE_OPTIONS: Options = { tenant: { type: 'string' }, client: { type: 'string' } };

export const MANIFEST_COMMANDS: Record<string, Command> = {
  'manifest publish': {
    usage: 'manifest publish <file|-> --tenant <id> --client <name>',
    summary:
      "Publishes a persisted-operation manifest (Apollo's format, as `npm run codegen` writes it) as the client's next version, after validating every operation against the served supergraph's API schema (the one published with `supergraph publish`, else SUPERGRAPH_PATH, default schema/supergraph.graphql); - reads it from standard input. Every gateway serves it within 5 s. The client is what an API key's --manifest names; storefront is the tenant's frontend safelist.",
    options: MANIFEST_SCOPE_OPTIONS,
    positionals: ['file'],
    async run({ values, positionals, controlPlane, config, print, io }) {
      const tenantId = required(values, 'tenant');
      const client = required(values, 'client');
      const plane = await controlPlane();
      // A supergraph published with `tollgate supergraph publish` outranks SUPERGRAPH_PATH on every gateway.
      const served = (await plane.supergraphs.current())?.sdl ?? readFileSync(config().supergraphPath, 'utf8');
      const manifest = await readManifest(positionals[0]!, served, io.stdin);
      const published = await plane.manifests.publish(tenantId, client, manifest);
      print(
        manifestJson(published, published),
        () =>
          `Published manifest ${published.client} version ${published.version} for tenant ${published.tenantId} (${published.operations.length} operations).`,
      );
    },
  },
  'manifest list': {
    usage: 'manifest list --tenant <id> [--client <name>]',
    summary: "Lists the versions of the tenant's manifests: served (the newest not retired), superseded or retired.",
    options: MANIFEST_SCOPE_OPTIONS,
    async run({ values, controlPlane, print }) {
      const tenantId = required(values, 'tenant');
      const versions = await (await controlPlane()).manifests.list(tenantId, string(values, 'client'));
      const servedVersion = new Map<string, number>();
      for (const v of versions) if (!v.retiredAt) servedVersion.set(v.client, v.version);
      const rows = versions.map((v) => manifestJson(v, servedVersion.get(v.client) === v.version ? v : undefined));
      print(rows, () =>
        table(
          ['CLIENT', 'VERSION', 'STATUS', 'OPERATIONS', 'PUBLISHED', 'RETIRED'],
          versions.map((v, i) => [
            v.client,
            String(v.version),
            String(rows[i]!.status),
            String(v.operations.length),
            date(v.publishedAt),
            date(v.retiredAt),
          ]),
        ),
      );
    },
  },
  'manifest show': {
    usage: 'manifest show --tenant <id> --client <name> [--version <n>]',
    summary:
      'Shows the operations of a manifest version; the served one unless --version. --json includes their bodies.',
    options: { ...MANIFEST_SCOPE_OPTIONS, version: { type: 'string' } },
    async run({ values, controlPlane, print }) {
      const tenantId = required(values, 'tenant');
      const client = required(values, 'client');
      const version = manifestVersion(values);
      const { manifests } = await controlPlane();
      const shown =
        version === undefined
          ? await manifests.served(tenantId, client)
          : await manifests.get(tenantId, client, version);
      if (!shown)
        throw new Error(
          `no ${version === undefined ? 'served version' : `version ${version}`} of manifest ${client} for tenant ${tenantId}`,
        );
      print(shown, () =>
        [
          `manifest ${shown.client} version ${shown.version} of tenant ${shown.tenantId}, published ${date(shown.publishedAt)}${shown.retiredAt ? `, retired ${date(shown.retiredAt)}` : ''}`,
          table(
            ['ID', 'TYPE', 'NAME'],
            shown.operations.map((o) => [o.id, o.type, o.name]),
          ),
        ].join('\n'),
      );
    },
  },
  'manifest retire': {
    usage: 'manifest retire --tenant <id> --client <name> --version <n>',
    summary:
      'Stops serving a manifest version on every gateway within 5 s; the newest version not retired, if any, is served instead.',
    options: { ...MANIFEST_SCOPE_OPTIONS, version: { type: 'string' } },
    async run({ values, controlPlane, print }) {
      const version = manifestVersion(values);
      if (version === undefined) throw new UsageError('--version is required');
      const retired = await (
        await controlPlane()
      ).manifests.retire(required(values, 'tenant'), required(values, 'client'), version);
      print(
        manifestJson(retired, undefined),
        () => `Retired manifest ${retired.client} version ${retired.version} of tenant ${retired.tenantId}.`,
      );
    },
  },
};

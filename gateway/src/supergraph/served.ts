/**
 * The supergraph a gateway serves, from start to stop: its sources ranked (source.ts), the first version checked
 * and built, and every later one offered to the reloader (reloader.ts), which swaps the versioned gateway
 * (versioned-gateway.ts) Apollo Server runs on. server.ts starts it once the control plane is open, since a
 * published supergraph outranks the file and the URL.
 */
import type { Logger } from '../../../common/logger';
import type { SupergraphReloadConfig } from '../config';
import { buildSchemaBundle, type SchemaBundle, type SchemaBundleOptions } from './bundle';
import { CONTROL_PLANE, createControlPlaneSource } from './control-plane-source';
import { createFileSource } from './file-source';
import type { SupergraphRegistry } from './registry';
import { createSupergraphReloader, type ReloadResult, type SupergraphReloader } from './reloader';
import { rankSources, type RankedSupergraph, type SupergraphSource } from './source';
import { createUrlSource } from './url-source';
import { checkSupergraph, type CheckedSupergraph, type SupergraphPolicy } from './validate';
import { createVersionedGateway, loadExecutor, type GatewayBase, type VersionedGateway } from './versioned-gateway';

export interface ServeSupergraphOptions {
  /** `SUPERGRAPH_PATH`. */
  readonly path: string;
  readonly reload: SupergraphReloadConfig;
  readonly supergraphs: Pick<SupergraphRegistry, 'currentId' | 'current' | 'list' | 'get'>;
  readonly policy: SupergraphPolicy;
  /** What every version's bundle is built with, but its executor. */
  readonly bundle: Omit<SchemaBundleOptions, 'executorFor'>;
  readonly gatewayBase: GatewayBase;
  readonly logger: Logger;
  onReload?(result: ReloadResult): void;
}

export interface ServedSupergraph {
  readonly versioned: VersionedGateway;
  readonly reloader: SupergraphReloader;
  /** Apollo Server has started on the first version: changes seen before are offered now, later ones at once. */
  started(): void;
  /** A supergraph was announced on the control plane's channel, or the subscription came back. */
  announced(): void;
  close(): Promise<void>;
}

export class SupergraphRefusedError extends Error {
  constructor(source: string, reason: string, message: string) {
    super(`the supergraph from ${source} was refused (${reason}): ${message}`);
    this.name = 'SupergraphRefusedError';
  }
}

export async function serveSupergraph(options: ServeSupergraphOptions): Promise<ServedSupergraph> {
  const { reload, logger } = options;
  const log = logger.child({ component: 'supergraph' });
  const controlPlane = createControlPlaneSource({
    supergraphs: options.supergraphs,
    pollMs: reload.controlPlanePollMs,
    logger: log,
  });
  const fallback: SupergraphSource = reload.url
    ? createUrlSource({
        url: reload.url,
        intervalMs: reload.urlPollMs,
        jitterMs: reload.urlJitterMs,
        timeoutMs: reload.urlTimeoutMs,
        logger: log,
      })
    : createFileSource({ path: options.path, pollMs: reload.filePollMs, logger: log });
  const sources = rankSources([controlPlane, fallback], log);
  const bundleOptions: SchemaBundleOptions = {
    ...options.bundle,
    executorFor: (sdl, queryPlans) => loadExecutor(options.gatewayBase, sdl, queryPlans),
  };
  let reloader: SupergraphReloader | undefined;
  // Until Apollo Server has loaded the first version there is nothing to swap: the newest change waits.
  let waiting: RankedSupergraph | undefined;
  let started = false;
  const offer = (supergraph: RankedSupergraph) => {
    if (started && reloader) void reloader.offer(supergraph);
    else waiting = supergraph;
  };
  try {
    // The highest-ranked supergraph that passes the checks: a published version this gateway refuses (its policy
    // differs from the CLI's, or --skip-policy was used) must not keep new replicas from starting while the running
    // ones serve their last good one. Each refusal is logged and counted as a hot swap's would be.
    const ranked = await sources.start(offer);
    let initial: RankedSupergraph | undefined;
    let checked: CheckedSupergraph | undefined;
    let firstRefusal: SupergraphRefusedError | undefined;
    for await (const candidate of candidatesAtStart(ranked, options.supergraphs)) {
      const check = checkSupergraph(candidate.sdl, options.policy);
      if (check.ok) {
        initial = candidate;
        checked = check.supergraph;
        break;
      }
      log.error('supergraph refused at start', {
        source: candidate.source,
        supergraphId: check.id,
        reason: check.reason,
        detail: check.message,
      });
      options.onReload?.('refused');
      firstRefusal ??= new SupergraphRefusedError(candidate.source, check.reason, check.message);
    }
    if (!initial || !checked) throw firstRefusal!;
    if (initial !== ranked[0])
      log.warn('starting on a lower-ranked supergraph source: the higher-ranked one was refused', {
        source: initial.source,
      });
    const bundle: SchemaBundle = await buildSchemaBundle(checked, bundleOptions);
    const versioned = createVersionedGateway(options.gatewayBase, bundle);
    reloader = createSupergraphReloader({
      initialId: bundle.id,
      check: (sdl) => checkSupergraph(sdl, options.policy),
      build: (checked) => buildSchemaBundle(checked, bundleOptions),
      swap: (next) => versioned.push(next),
      logger: log,
      onResult: (result) => options.onReload?.(result),
    });
    log.info('supergraph loaded', { source: initial.source, supergraphId: bundle.id });
    return {
      versioned,
      reloader,
      started() {
        started = true;
        if (waiting) offer(waiting);
        waiting = undefined;
      },
      announced: () => controlPlane.changed(),
      close: () => sources.close(),
    };
  } catch (error) {
    await sources.close();
    throw error;
  }
}

/** Earlier publications tried at start when the current one is refused, newest first. */
const MAX_EARLIER_PUBLICATIONS = 10;

/**
 * What a starting gateway may serve, in order: each source's supergraph by rank, and right after the control plane's
 * current one its earlier publications — the version running replicas most likely still serve as their last good
 * one — read only if the current one is refused.
 */
async function* candidatesAtStart(
  ranked: readonly RankedSupergraph[],
  supergraphs: Pick<SupergraphRegistry, 'list' | 'get'>,
): AsyncGenerator<RankedSupergraph> {
  for (const candidate of ranked) {
    yield candidate;
    if (candidate.source !== CONTROL_PLANE) continue;
    const earlier = (await supergraphs.list()).slice(1, 1 + MAX_EARLIER_PUBLICATIONS);
    for (const { id } of earlier) {
      const version = await supergraphs.get(id);
      if (version) yield { sdl: version.sdl, source: `${CONTROL_PLANE} (earlier publication)` };
    }
  }
}

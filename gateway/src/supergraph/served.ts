/**
 * The supergraph a gateway serves, from start to stop: its sources ranked (source.ts), the first version checked
 * and built, and every later one offered to the reloader (reloader.ts), which swaps the versioned gateway
 * (versioned-gateway.ts) Apollo Server runs on. server.ts starts it once the control plane is open, since a
 * published supergraph outranks the file and the URL.
 */
import type { Logger } from '../../../common/logger';
import type { SupergraphReloadConfig } from '../config';
import { buildSchemaBundle, type SchemaBundle, type SchemaBundleOptions } from './bundle';
import { createControlPlaneSource } from './control-plane-source';
import { createFileSource } from './file-source';
import type { SupergraphRegistry } from './registry';
import { createSupergraphReloader, type ReloadResult, type SupergraphReloader } from './reloader';
import { rankSources, type RankedSupergraph, type SupergraphSource } from './source';
import { createUrlSource } from './url-source';
import { checkSupergraph, type SupergraphPolicy } from './validate';
import { createVersionedGateway, loadExecutor, type GatewayBase, type VersionedGateway } from './versioned-gateway';

export interface ServeSupergraphOptions {
  /** `SUPERGRAPH_PATH`. */
  readonly path: string;
  readonly reload: SupergraphReloadConfig;
  readonly supergraphs: Pick<SupergraphRegistry, 'currentId' | 'current'>;
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
    const initial = await sources.start(offer);
    const check = checkSupergraph(initial.sdl, options.policy);
    if (!check.ok) throw new SupergraphRefusedError(initial.source, check.reason, check.message);
    const bundle: SchemaBundle = await buildSchemaBundle(check.supergraph, bundleOptions);
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

/**
 * The hot swap: a source hands over SDL (supergraph/source.ts); it is checked (validate.ts) and, when it passes,
 * everything derived from it is built (bundle.ts) and the gateway switches to it (versioned-gateway.ts). A
 * supergraph that fails is refused — logged at error with its reason code, counted — and the last good one keeps
 * serving. Offers are handled one at a time; of those that arrive meanwhile only the newest is handled next.
 */
import type { Logger } from '../../../common/logger';
import type { SchemaBundle } from './bundle';
import { supergraphId } from './registry';
import type { RankedSupergraph } from './source';
import type { CheckedSupergraph, SupergraphCheck, SupergraphRefusal } from './validate';

/** `applied`: now served; `refused`: failed a check; `failed`: passed, but building or switching to it failed. */
export type ReloadResult = 'applied' | 'refused' | 'failed';

export interface SupergraphReloaderOptions {
  /** The id of the version served at start. */
  readonly initialId: string;
  check(sdl: string): SupergraphCheck;
  build(checked: CheckedSupergraph): Promise<SchemaBundle>;
  swap(bundle: SchemaBundle): void;
  readonly logger: Logger;
  /** Told of every outcome (metrics: `tollgate_supergraph_reload_total{result}`). */
  onResult?(result: ReloadResult, detail: { id: string; source: string; reason?: SupergraphRefusal }): void;
}

export interface SupergraphReloader {
  /** Handles `supergraph`; resolves when it (or a newer offer that replaced it) is applied or refused. */
  offer(supergraph: RankedSupergraph): Promise<void>;
  /** The id of the version served. */
  currentId(): string;
}

export function createSupergraphReloader(options: SupergraphReloaderOptions): SupergraphReloader {
  const { logger } = options;
  let currentId = options.initialId;
  let next: RankedSupergraph | undefined;
  let running: Promise<void> | undefined;

  const handle = async ({ sdl, source }: RankedSupergraph): Promise<void> => {
    // A source may hand over what is served already (a file rewritten with the same text, a re-publish).
    if (supergraphId(sdl) === currentId) return;
    const check = options.check(sdl);
    if (!check.ok) {
      logger.error('supergraph refused; the last good one keeps serving', {
        source,
        supergraphId: check.id,
        servingId: currentId,
        reason: check.reason,
        detail: check.message,
      });
      options.onResult?.('refused', { id: check.id, source, reason: check.reason });
      return;
    }
    const { id } = check.supergraph;
    try {
      options.swap(await options.build(check.supergraph));
    } catch (error) {
      logger.error('supergraph could not be switched to; the last good one keeps serving', {
        source,
        supergraphId: id,
        servingId: currentId,
        error,
      });
      options.onResult?.('failed', { id, source });
      return;
    }
    logger.info('supergraph switched', { source, supergraphId: id, previousId: currentId });
    currentId = id;
    options.onResult?.('applied', { id, source });
  };

  const drain = async (): Promise<void> => {
    while (next) {
      const offered = next;
      next = undefined;
      await handle(offered);
    }
  };

  return {
    offer(supergraph) {
      next = supergraph;
      running ??= drain().finally(() => (running = undefined));
      return running;
    },
    currentId: () => currentId,
  };
}

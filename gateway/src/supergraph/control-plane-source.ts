/**
 * The supergraph last published to the control plane (`tollgate supergraph publish`). A publish is announced on
 * Redis (kind `supergraph`), and the gateway fetches that version at once; pub/sub delivers at most once, so the
 * current id is also polled every `pollMs` (one small read) — a replica that missed the announcement, or whose
 * Redis was away, switches within that. A replica that starts later loads the latest published version.
 */
import type { Logger } from '../../../common/logger';
import type { SupergraphRegistry } from './registry';
import type { SupergraphSource } from './source';

/** The source's name in logs and rankings. */
export const CONTROL_PLANE = 'control-plane';

export interface ControlPlaneSourceOptions {
  readonly supergraphs: Pick<SupergraphRegistry, 'currentId' | 'current'>;
  readonly pollMs: number;
  readonly logger: Logger;
}

export interface ControlPlaneSource extends SupergraphSource {
  /** An announcement arrived (tenants/changes.ts, kind `supergraph`), or the subscription was re-established. */
  changed(): void;
}

export function createControlPlaneSource(options: ControlPlaneSourceOptions): ControlPlaneSource {
  const { supergraphs, logger } = options;
  let currentId: string | undefined;
  let notify: ((sdl: string) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let failing = false;
  // One look at a time; an announcement during one asks for another right after.
  let looking: Promise<void> | undefined;
  let again = false;

  const look = async (): Promise<void> => {
    try {
      const id = await supergraphs.currentId();
      if (id === undefined || id === currentId || closed) return;
      const version = await supergraphs.current();
      if (!version || version.id === currentId || closed) return;
      currentId = version.id;
      notify?.(version.sdl);
      if (failing) logger.info('the control plane answers supergraph reads again');
      failing = false;
    } catch (error) {
      if (!failing) logger.warn('cannot read the published supergraph; serving the last one loaded', { error });
      failing = true;
    }
  };
  const lookSoon = (): Promise<void> => {
    if (looking) {
      again = true;
      return looking;
    }
    looking = look().finally(() => {
      looking = undefined;
      if (again && !closed) {
        again = false;
        void lookSoon();
      }
    });
    return looking;
  };

  return {
    name: CONTROL_PLANE,
    async start(onChange) {
      const version = await supergraphs.current();
      currentId = version?.id;
      notify = onChange;
      if (options.pollMs > 0) {
        timer = setInterval(() => void lookSoon(), options.pollMs);
        timer.unref();
      }
      return version?.sdl;
    },
    changed() {
      if (notify && !closed) void lookSoon();
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await looking;
    },
  };
}

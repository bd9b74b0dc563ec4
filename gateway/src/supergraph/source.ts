/**
 * Where a gateway's supergraph comes from, and which source wins.
 *
 * A source (one module each: file-source.ts, url-source.ts, control-plane-source.ts) hands over SDL text: the one it
 * has at start, and each new one it sees while the gateway runs. It judges nothing — supergraph/reloader.ts
 * validates and swaps. Sources are ranked; the SDL served is that of the highest-ranked source that has one:
 *
 *   1. the control plane — the version last published with `tollgate supergraph publish`, once there is one;
 *   2. `SUPERGRAPH_URL` when set, else 3. the file at `SUPERGRAPH_PATH`.
 *
 * So once a supergraph is published, file and URL changes are logged and ignored until the control plane has none
 * (a database of its own, or a fresh deployment): one place decides what every replica serves, and a replica that
 * starts later loads the same version.
 */
import type { Logger } from '../../../common/logger';

export interface SupergraphSource {
  /** For logs: `control-plane`, `url`, `file`. */
  readonly name: string;
  /**
   * Starts watching; resolves with the SDL the source has now (`undefined`: none yet, e.g. nothing published).
   * `onChange` is then called with every different SDL it sees. Rejects when the source cannot be read at all at
   * start (a missing file, an unreachable URL): a gateway does not start on a guess.
   */
  start(onChange: (sdl: string) => void): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface RankedSupergraph {
  readonly sdl: string;
  /** The source it came from. */
  readonly source: string;
}

export interface RankedSources {
  /**
   * Starts every source; resolves with the SDL of each source that has one, highest rank first (the first decides;
   * the others are what a gateway starts on when the first is refused), and rejects when no source has one.
   */
  start(onChange: (supergraph: RankedSupergraph) => void): Promise<RankedSupergraph[]>;
  close(): Promise<void>;
}

/** `sources` highest rank first. */
export function rankSources(sources: readonly SupergraphSource[], logger: Logger): RankedSources {
  const latest: (string | undefined)[] = sources.map(() => undefined);
  const effective = (): RankedSupergraph | undefined => {
    const index = latest.findIndex((sdl) => sdl !== undefined);
    return index < 0 ? undefined : { sdl: latest[index]!, source: sources[index]!.name };
  };
  return {
    async start(onChange) {
      let started = false;
      const initial = await Promise.all(
        sources.map((source, index) =>
          source.start((sdl) => {
            latest[index] = sdl;
            if (!started) return;
            const after = effective();
            if (after && after.source === source.name) onChange(after);
            else
              logger.info('a lower-ranked supergraph source changed; the higher-ranked one keeps deciding', {
                source: source.name,
                decidingSource: after?.source,
              });
          }),
        ),
      );
      initial.forEach((sdl, index) => {
        latest[index] ??= sdl;
      });
      started = true;
      const candidates = latest.flatMap((sdl, index) =>
        sdl === undefined ? [] : [{ sdl, source: sources[index]!.name }],
      );
      if (candidates.length === 0) throw new Error('no supergraph source has a supergraph');
      return candidates;
    },
    async close() {
      await Promise.all(sources.map((source) => source.close()));
    },
  };
}

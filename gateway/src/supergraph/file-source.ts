/**
 * The supergraph in a file (`SUPERGRAPH_PATH`), watched. `fs.watch` on the file's directory — not the file: a
 * deployment that replaces the file by renaming a new one over it (a Kubernetes ConfigMap's symlink swap, `mv`)
 * leaves a watch on the old inode silent — plus a poll as the fallback where `fs.watch` misses events (network and
 * overlay file systems). Either only prompts a read; a change is a different SDL, whatever the timestamps say.
 * Events are debounced, so a file written in several chunks is read once it is complete.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../../common/logger';
import { MAX_SUPERGRAPH_BYTES } from './registry';
import type { SupergraphSource } from './source';

export interface FileSourceOptions {
  readonly path: string;
  /** How often the file is read regardless of watch events (the fallback); 0: never. */
  readonly pollMs: number;
  /** How long after a watch event the file is read (partial writes settle). */
  readonly debounceMs?: number;
  /** Watch events on (the default); tests turn them off to exercise the poll alone. */
  readonly watch?: boolean;
  readonly logger: Logger;
}

const DEFAULT_DEBOUNCE_MS = 100;

export function createFileSource(options: FileSourceOptions): SupergraphSource {
  const { path, logger } = options;
  let watcher: FSWatcher | undefined;
  let poll: NodeJS.Timeout | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let last: string | undefined;
  let closed = false;
  let reading = false;
  let failing = false;

  // At most one byte past the bound is read: a larger file is refused as too large by the validator, and the
  // gateway never holds more of it than that.
  const read = async (): Promise<string> => {
    const file = await open(path, 'r');
    try {
      // The open file's own size (a file renamed over the path later is another file), one byte more to see growth.
      const { size } = await file.stat();
      const buffer = Buffer.alloc(Math.min(size, MAX_SUPERGRAPH_BYTES) + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
        if (bytesRead === 0 || (length += bytesRead) === buffer.length) break;
      }
      return buffer.toString('utf8', 0, length);
    } finally {
      await file.close();
    }
  };

  return {
    name: 'file',
    async start(onChange) {
      last = await read();
      const check = async () => {
        if (closed || reading) return;
        reading = true;
        try {
          const sdl = await read();
          if (failing) logger.info('the supergraph file is readable again', { path });
          failing = false;
          if (sdl !== last && !closed) {
            last = sdl;
            onChange(sdl);
          }
        } catch (error) {
          // Mid-rename the file may be briefly absent; the last good supergraph keeps serving meanwhile.
          if (!failing) logger.warn('cannot read the supergraph file; serving the last one loaded', { path, error });
          failing = true;
        } finally {
          reading = false;
        }
      };
      const prompt = () => {
        clearTimeout(debounce);
        debounce = setTimeout(() => void check(), options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
        debounce.unref();
      };
      const name = basename(path);
      try {
        if (options.watch !== false)
          watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
            if (!changed || changed === name || changed.startsWith('..')) prompt();
          });
        watcher?.on('error', (error) => logger.warn('supergraph file watch failed; polling only', { path, error }));
      } catch (error) {
        logger.warn('cannot watch the supergraph file; polling only', { path, error });
      }
      if (options.pollMs > 0) {
        poll = setInterval(() => void check(), options.pollMs);
        poll.unref();
      }
      return last;
    },
    async close() {
      closed = true;
      watcher?.close();
      clearInterval(poll);
      clearTimeout(debounce);
    },
  };
}

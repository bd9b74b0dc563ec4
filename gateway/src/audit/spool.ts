/**
 * The local spool: where events wait while MongoDB is unreachable. One NDJSON file of unchained events
 * (AuditEventInput), appended in order and bounded in bytes; the writer replays it, in order, when MongoDB answers
 * again, then empties it. Events are chained at replay, so the chain's order is the order of arrival. A line cut
 * short by a crash is skipped on reading; an event written before a crash and replayed again is skipped by id
 * (store.ts, `maybePresent`).
 */
import { appendFile, mkdir, readFile, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditEventInput } from './event';

export interface SpoolOptions {
  path: string;
  maxBytes: number;
}

export interface Spool {
  /** Bytes in the file now. */
  bytes(): number;
  /** Appends all of `events` or none: false when they would take the file past its bound. */
  append(events: readonly AuditEventInput[]): Promise<boolean>;
  readAll(): Promise<AuditEventInput[]>;
  clear(): Promise<void>;
}

export async function openSpool(options: SpoolOptions): Promise<Spool> {
  await mkdir(dirname(options.path), { recursive: true, mode: 0o700 });
  let size = 0;
  try {
    size = (await stat(options.path)).size;
  } catch {
    size = 0;
  }
  return {
    bytes: () => size,
    async append(events) {
      if (events.length === 0) return true;
      const text = events.map((e) => `${JSON.stringify(e)}\n`).join('');
      const bytes = Buffer.byteLength(text);
      if (size + bytes > options.maxBytes) return false;
      await appendFile(options.path, text, { mode: 0o600 });
      size += bytes;
      return true;
    },
    async readAll() {
      let text: string;
      try {
        text = await readFile(options.path, 'utf8');
      } catch {
        return [];
      }
      const events: AuditEventInput[] = [];
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          events.push(JSON.parse(line) as AuditEventInput);
        } catch {
          // A line cut short by a crash: its event was never acknowledged to anyone.
        }
      }
      return events;
    },
    async clear() {
      await truncate(options.path, 0).catch(() => undefined);
      size = 0;
    },
  };
}

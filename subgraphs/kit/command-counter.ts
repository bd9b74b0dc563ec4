/**
 * Counts the database commands a subgraph sends, by command name, for the bench's "MongoDB commands per request".
 * The count comes from the driver's command monitoring (`commandStarted`), so it includes whatever the driver sends
 * on the subgraph's behalf — except its own heartbeats, which go over separate monitoring connections and emit no
 * command events. Served at `GET /_bench/commands` when enabled, to loopback callers only: it reveals nothing about a
 * tenant, but it is no business of anyone else.
 */
import type { RequestHandler } from 'express';
import type { Connection } from 'mongoose';

export interface CommandCounter {
  /** Commands sent since start, by name. */
  snapshot(): Record<string, number>;
  /** The express handler of `GET /_bench/commands`. */
  handler: RequestHandler;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Starts counting on `connection`, which must have been opened with `monitorCommands: true`. */
export function createCommandCounter(connection: Connection): CommandCounter {
  const counts: Record<string, number> = Object.create(null) as Record<string, number>;
  connection.getClient().on('commandStarted', (event: { commandName: string }) => {
    counts[event.commandName] = (counts[event.commandName] ?? 0) + 1;
  });
  return {
    snapshot: () => ({ ...counts }),
    handler: (req, res) => {
      if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) {
        res.status(404).json({ errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
        return;
      }
      res.json({ commands: { ...counts } });
    },
  };
}

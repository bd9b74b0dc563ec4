/**
 * The request deadline inside a subgraph, and what it does to database work.
 *
 * The gateway puts an absolute deadline in the token of every fetch (`dl`, common/internal-token.ts): when it
 * passes, the gateway has stopped waiting. The internal-auth middleware turns it into the scope's `deadline` (no
 * later than the subgraph's own maximum), and the tenant plugin applies it to every database operation:
 *
 * - nothing is started once the deadline has passed (`assertTimeLeft`): above all no write for a client that is gone;
 * - reads get `maxTimeMS` from the time left (`maxTimeMsLeft`), so the database stops working for nobody
 *   (FerretDB 1.24 honours it on find, aggregate and count; it ignores it on writes);
 * - every operation is raced against the deadline (`withinDeadline`): a database that accepts connections but
 *   never answers (a blackhole, a partition) holds the request no longer than its deadline. The abandoned
 *   operation is left to the driver, whose socket timeout then closes its connection.
 *
 * A database that cannot be reached, does not answer in time, or ran out of `maxTimeMS` is the one refusal a
 * client sees for all of these: SERVICE_UNAVAILABLE, with no driver text.
 */
import { GraphQLError } from 'graphql';
import mongoose from 'mongoose';
import { currentScope } from './scope';

/** The code and message every database-availability failure reaches the client with. */
export const SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE';
const UNAVAILABLE_MESSAGE = 'Service temporarily unavailable';

/** Deadline of a request whose token names none (a gateway that predates `dl`), and the cap of any it names. */
export const DEFAULT_MAX_REQUEST_DEADLINE_MS = 10_000;

/** A refusal for the client: the database is unreachable, too slow, or the request's time is up. */
export function serviceUnavailable(): GraphQLError {
  return new GraphQLError(UNAVAILABLE_MESSAGE, { extensions: { code: SERVICE_UNAVAILABLE } });
}

/** The request's deadline (ms since the epoch): the token's, but never later than `now + maxMs`. */
export function requestDeadline(tokenDeadline: number | undefined, now: number, maxMs: number): number {
  return Math.min(tokenDeadline ?? Number.POSITIVE_INFINITY, now + maxMs);
}

/** Milliseconds left in the current request; Infinity outside a request with a deadline (seeding, tests). */
export function timeLeftMs(now = Date.now()): number {
  const deadline = currentScope()?.deadline;
  return deadline === undefined ? Number.POSITIVE_INFINITY : deadline - now;
}

/** Throws SERVICE_UNAVAILABLE when the current request's deadline has passed: the operation is not started. */
export function assertTimeLeft(): void {
  if (timeLeftMs() <= 0) throw serviceUnavailable();
}

/** `maxTimeMS` for an operation starting now, or undefined when the request has no deadline. */
export function maxTimeMsLeft(): number | undefined {
  const left = timeLeftMs();
  return Number.isFinite(left) ? Math.max(1, Math.floor(left)) : undefined;
}

/**
 * Driver errors that mean "the database is not there or not answering in time", as opposed to a bad query:
 * server selection, network failures and timeouts, a cleared pool, and the server's MaxTimeMSExpired (50).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const { mongo } = mongoose;
  if (
    error instanceof mongo.MongoServerSelectionError ||
    error instanceof mongo.MongoNetworkError ||
    error instanceof mongo.MongoNotConnectedError ||
    error instanceof mongo.MongoTopologyClosedError
  ) {
    return true;
  }
  if (error instanceof mongo.MongoServerError && error.code === 50) return true;
  // Mongoose wraps the driver's selection error in its own class when it connects.
  return error instanceof Error && error.name === 'MongooseServerSelectionError';
}

function translate(error: unknown): unknown {
  return isDatabaseUnavailable(error) ? serviceUnavailable() : error;
}

/**
 * `operation`, but settled by the current request's deadline at the latest: past it, the promise rejects with
 * SERVICE_UNAVAILABLE, and so does any availability failure of the driver. Outside a request with a deadline only
 * the translation applies.
 */
export function withinDeadline<T>(operation: Promise<T>): Promise<T> {
  const left = timeLeftMs();
  if (!Number.isFinite(left)) return operation.catch((error: unknown) => Promise.reject(translate(error)));
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(serviceUnavailable()), Math.max(0, left));
    operation.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(translate(error));
      },
    );
  });
}

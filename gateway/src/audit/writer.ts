/**
 * The audit writer: never in the request's way, never silently lost.
 *
 * `record` only pushes onto an in-memory queue. A single loop writes the queue in batches (per tenant, in arrival
 * order) every `flushIntervalMs`, or sooner once `batchSize` events wait. When a write fails (MongoDB unreachable)
 * the batch goes to the spool (spool.ts), and so does every later batch until the spool has been replayed — in
 * order, before anything newer — so a tenant's chain keeps arrival order across the outage. When the spool is full,
 * or the queue past `maxQueue` while the loop is stuck, events are lost: counted (`stats().lost`), logged as an
 * error, and the writer reports itself `degraded()` until the spool is drained — the audit stage (stage.ts) then
 * refuses mutations of tenants whose plan requires a complete trail. `close` flushes (to MongoDB or the spool).
 *
 * Every `checkpointIntervalMs` the writer signs a checkpoint over the head it last wrote, per tenant written since —
 * unless that head is no longer in the store (the tenant was erased meanwhile).
 */
import type { Logger } from '../../../common/logger';
import type { AuditEventInput } from './event';
import type { AuditSigner } from './signing';
import type { Spool } from './spool';
import type { AuditStore } from './store';

export interface AuditWriterOptions {
  /** Opens (once, lazily, again after a failure) the store. */
  store: () => Promise<AuditStore>;
  spool: Spool;
  signer: AuditSigner;
  logger: Logger;
  batchSize?: number;
  flushIntervalMs?: number;
  /** Events the queue holds at most while the loop waits on MongoDB; beyond it they go to the spool or are lost. */
  maxQueue?: number;
  checkpointIntervalMs?: number;
  /** Told of every lost event (metrics). */
  onLoss?: (count: number) => void;
  /**
   * Whether a tenant no longer exists (`tollgate tenant erase` deleted its record), asked at replay for each tenant
   * the spool holds events of: an erased tenant's spooled events are dropped, not written into a chain the erasure
   * has deleted. Rejects when it cannot tell: the spool is then kept for the next replay. Absent: every event is
   * replayed.
   */
  tenantGone?: (tenant: string) => Promise<boolean>;
}

export interface AuditWriterStats {
  queued: number;
  spoolBytes: number;
  lost: number;
  degraded: boolean;
}

export interface AuditWriter {
  record(event: AuditEventInput): void;
  /** Writes what is queued now (and replays the spool); resolves when done or spooled. */
  flush(): Promise<void>;
  /** Signs a checkpoint over every tenant's current head now. */
  checkpoint(): Promise<void>;
  degraded(): boolean;
  stats(): AuditWriterStats;
  close(): Promise<void>;
}

export function createAuditWriter(options: AuditWriterOptions): AuditWriter {
  const batchSize = options.batchSize ?? 200;
  const maxQueue = options.maxQueue ?? 20_000;
  const { spool, logger } = options;
  let queue: AuditEventInput[] = [];
  let lost = 0;
  let spoolFull = false;
  let running: Promise<void> | undefined;
  let closed = false;
  let store: AuditStore | undefined;
  const written = new Map<string, { seq: number; hash: string }>();

  const lose = (count: number, why: string) => {
    lost += count;
    spoolFull = true;
    options.onLoss?.(count);
    logger.error('audit events lost', { count, why, lostTotal: lost });
  };

  const storeNow = async (): Promise<AuditStore> => (store ??= await options.store());

  const writeBatch = async (events: readonly AuditEventInput[], maybePresent: boolean) => {
    const db = await storeNow();
    const byTenant = new Map<string, AuditEventInput[]>();
    for (const event of events) {
      const list = byTenant.get(event.tenant);
      if (list) list.push(event);
      else byTenant.set(event.tenant, [event]);
    }
    for (const [tenant, list] of byTenant) {
      const head = await db.append(tenant, list, maybePresent);
      if (head) written.set(tenant, { seq: head.seq, hash: head.hash });
    }
  };

  const toSpool = async (events: AuditEventInput[]) => {
    if (events.length === 0) return;
    if (!(await spool.append(events))) lose(events.length, 'spool full');
  };

  /** The spooled events whose tenant still exists (`tenantGone`); how many were dropped is logged, never whose. */
  const ofLiveTenants = async (spooled: AuditEventInput[]): Promise<AuditEventInput[]> => {
    const tenantGone = options.tenantGone;
    if (!tenantGone || spooled.length === 0) return spooled;
    const gone = new Set<string>();
    for (const tenant of new Set(spooled.map((event) => event.tenant))) if (await tenantGone(tenant)) gone.add(tenant);
    if (gone.size === 0) return spooled;
    const kept = spooled.filter((event) => !gone.has(event.tenant));
    // The erased tenants' ids stay out of the log too: what is kept of an erased tenant is kept under its pseudonym.
    logger.warn('audit spool: events of erased tenants dropped', {
      events: spooled.length - kept.length,
      tenants: gone.size,
    });
    return kept;
  };

  const replaySpool = async (spooled: readonly AuditEventInput[]) => {
    for (let i = 0; i < spooled.length; i += batchSize) await writeBatch(spooled.slice(i, i + batchSize), true);
    await spool.clear();
    if (spoolFull)
      logger.warn('audit spool replayed: the trail is complete again from here', { events: spooled.length });
    spoolFull = false;
  };

  const runOnce = async () => {
    const batch = queue;
    queue = [];
    let spooled: AuditEventInput[] | undefined;
    if (spool.bytes() > 0) {
      const all = await spool.readAll();
      try {
        spooled = await ofLiveTenants(all);
      } catch (error) {
        // Not the store's fault: it stays open. The spool is replayed first or not at all (chain order), so the
        // batch joins it until the control plane can say which tenants were erased.
        logger.warn('audit spool kept: the control plane cannot say which tenants were erased', {
          error: error instanceof Error ? error.message : String(error),
        });
        await toSpool(batch);
        return;
      }
    }
    try {
      if (spooled) await replaySpool(spooled);
      for (let i = 0; i < batch.length; i += batchSize) await writeBatch(batch.slice(i, i + batchSize), false);
    } catch (error) {
      // The store may be gone for good (connection closed): open a fresh one next time.
      const failed = store;
      store = undefined;
      await failed?.close().catch(() => undefined);
      logger.warn('audit store unreachable: events spooled', {
        error: error instanceof Error ? error.message : String(error),
      });
      // Whatever of `batch` got in before the failure is skipped by id at replay.
      await toSpool(batch);
    }
  };

  const flush = (): Promise<void> => {
    if (running) return running.then(() => (queue.length > 0 ? flush() : undefined));
    running = runOnce().finally(() => {
      running = undefined;
    });
    return running;
  };

  const checkpoint = async () => {
    if (written.size === 0) return;
    const db = await storeNow();
    const heads = [...written.entries()];
    written.clear();
    for (const [tenant, head] of heads) {
      // A chain erased since it was written (`tollgate tenant erase`) gets no checkpoint that would name it again.
      if ((await db.recordAt(tenant, head.seq))?.hash !== head.hash) continue;
      await db.addCheckpoint(
        options.signer.sign({ tenant, seq: head.seq, hash: head.hash, time: new Date().toISOString(), kind: 'head' }),
      );
    }
  };

  const timer = setInterval(() => {
    if ((queue.length > 0 || spool.bytes() > 0) && !running) void flush();
  }, options.flushIntervalMs ?? 250);
  timer.unref();
  const checkpointTimer = setInterval(() => {
    checkpoint().catch((error: unknown) =>
      logger.warn('audit checkpoint failed', { error: error instanceof Error ? error.message : String(error) }),
    );
  }, options.checkpointIntervalMs ?? 60_000);
  checkpointTimer.unref();

  return {
    record(event) {
      if (closed) return lose(1, 'writer closed');
      if (queue.length >= maxQueue) return lose(1, 'queue full');
      queue.push(event);
      if (queue.length >= batchSize && !running) void flush();
    },
    flush,
    async checkpoint() {
      await flush();
      await checkpoint();
    },
    degraded: () => spoolFull,
    stats: () => ({ queued: queue.length, spoolBytes: spool.bytes(), lost, degraded: spoolFull }),
    async close() {
      closed = true;
      clearInterval(timer);
      clearInterval(checkpointTimer);
      await flush();
      await checkpoint().catch(() => undefined);
      await store?.close().catch(() => undefined);
    },
  };
}

/**
 * The audit trail, wired: one factory the gateway calls (server.ts) when audit is on. It opens the spool, builds the
 * writer over a lazily (re)opened store, and hands out the request observer (one event per finished request that
 * the trail keeps: from-request.ts), the operation stage (stage.ts) and the retention job (retention.ts).
 * README "Audit trail" has the design; each file has its part.
 */
import type { Logger } from '../../../common/logger';
import type { RequestObserver } from '../http/guards';
import type { Stage } from '../pipeline';
import type { Plan } from '../tenants/plan';
import { eventFromRequest } from './from-request';
import type { AuditReader } from './graphql';
import { auditPolicyOf } from './policy';
import { pruneAll } from './retention';
import type { AuditConfig } from './settings';
import type { AuditSigner } from './signing';
import { redactionKey } from './redact';
import { openSpool } from './spool';
import { createAuditStage } from './stage';
import { AuditStore } from './store';
import { createAuditWriter, type AuditWriter } from './writer';

export { redactionKey } from './redact';

/**
 * The trail's tuning as configured (settings.ts): spool, overflow, flush, checkpoint and retention intervals —
 * `retentionIntervalMs` 0: this gateway runs no retention job (another replica, or a cron running `tollgate audit
 * prune`).
 */
type AuditTuning = Pick<
  AuditConfig,
  'spoolPath' | 'spoolMaxBytes' | 'overflow' | 'flushIntervalMs' | 'checkpointIntervalMs' | 'retentionIntervalMs'
>;

export interface AuditOptions extends AuditTuning {
  mongoUri: string;
  dbName: string;
  signer: AuditSigner;
  /** The gateway's internal secret: the redaction HMAC key is derived from it (never stored). */
  internalSecret: Buffer;
  /** The plan of a tenant, for retention (the directory's snapshot). */
  planOf: (tenant: string) => Promise<Plan | undefined>;
  logger: Logger;
  onLoss?: (count: number) => void;
  /** Whether a tenant's record is gone (erased): its spooled events are dropped at replay (writer.ts). */
  tenantGone?: (tenant: string) => Promise<boolean>;
}

export interface Audit {
  readonly writer: AuditWriter;
  /** Reads for the `auditEvents` field (graphql.ts), on a connection of their own opened on first use. */
  readonly reader: AuditReader;
  readonly observer: RequestObserver;
  readonly stage: Stage;
  close(): Promise<void>;
}

export async function createAudit(options: AuditOptions): Promise<Audit> {
  const logger = options.logger;
  const spool = await openSpool({ path: options.spoolPath, maxBytes: options.spoolMaxBytes });
  let indexWarned = false;
  const storeOptions = {
    mongoUri: options.mongoUri,
    dbName: options.dbName,
    onIndexProblem: (error: unknown) => {
      if (indexWarned) return;
      indexWarned = true;
      logger.warn('audit indexes could not be created: run `tollgate migrate`', {
        error: error instanceof Error ? error.message : String(error),
      });
    },
  };
  const writer = createAuditWriter({
    store: () => AuditStore.open(storeOptions),
    spool,
    signer: options.signer,
    logger,
    flushIntervalMs: options.flushIntervalMs,
    checkpointIntervalMs: options.checkpointIntervalMs,
    ...(options.onLoss ? { onLoss: options.onLoss } : {}),
    ...(options.tenantGone ? { tenantGone: options.tenantGone } : {}),
  });
  const hmacKey = redactionKey(options.internalSecret);
  const observer: RequestObserver = {
    requestStarted() {},
    requestEnded(request, _method, path, status) {
      if (path !== '/graphql') return;
      const event = eventFromRequest(
        {
          requestId: request.requestId,
          status,
          log: request.log,
          ...(request.caller ? { caller: request.caller } : {}),
        },
        { hmacKey },
      );
      if (event) writer.record(event);
    },
  };
  let readStore: Promise<AuditStore> | undefined;
  const reader: AuditReader = {
    async page(tenant, query, limit) {
      readStore ??= AuditStore.open(storeOptions).catch((error: unknown) => {
        readStore = undefined;
        throw error;
      });
      return (await readStore).page(tenant, query, limit);
    },
  };
  let retentionTimer: NodeJS.Timeout | undefined;
  if (options.retentionIntervalMs > 0) {
    retentionTimer = setInterval(() => {
      void (async () => {
        const store = await AuditStore.open(storeOptions);
        try {
          const results = await pruneAll({
            store,
            signer: options.signer,
            retentionDaysOf: async (tenant) => {
              const plan = await options.planOf(tenant);
              return plan ? auditPolicyOf(plan).retentionDays : undefined;
            },
          });
          for (const r of results) if (r.deleted > 0) logger.info('audit events pruned', { ...r });
        } finally {
          await store.close();
        }
      })().catch((error: unknown) =>
        logger.warn('audit retention failed', { error: error instanceof Error ? error.message : String(error) }),
      );
    }, options.retentionIntervalMs);
    retentionTimer.unref();
  }
  return {
    writer,
    reader,
    observer,
    stage: createAuditStage({ degraded: () => writer.degraded(), overflow: options.overflow }),
    async close() {
      if (retentionTimer) clearInterval(retentionTimer);
      await writer.close();
      await (await readStore?.catch(() => undefined))?.close();
    },
  };
}

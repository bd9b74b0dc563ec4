import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../common/logger';
import type { AuditEventInput, Checkpoint } from './event';
import { createAuditSigner } from './signing';
import { openSpool } from './spool';
import type { AuditStore } from './store';
import { createAuditWriter } from './writer';

const signer = createAuditSigner(
  generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
);

/** A store that is up or down as the test says, keeping what it was given in order. */
function fakeStore() {
  const written: AuditEventInput[] = [];
  const checkpoints: Checkpoint[] = [];
  const state = { up: true, opens: 0, erased: false };
  const store = {
    async append(_tenant: string, events: readonly AuditEventInput[], maybePresent: boolean) {
      if (!state.up) throw new Error('connection refused');
      const fresh = maybePresent ? events.filter((e) => !written.some((w) => w.id === e.id)) : events;
      written.push(...fresh);
      return { ...fresh[fresh.length - 1]!, seq: written.length, prevHash: '', hash: 'h'.repeat(64) };
    },
    async recordAt(_tenant: string, seq: number) {
      return state.erased || seq > written.length ? undefined : { seq, hash: 'h'.repeat(64) };
    },
    async addCheckpoint(checkpoint: Checkpoint) {
      checkpoints.push(checkpoint);
    },
    async close() {},
  };
  const open = async () => {
    state.opens++;
    if (!state.up) throw new Error('server selection timed out');
    return store as unknown as AuditStore;
  };
  return { written, checkpoints, state, open };
}

const event = (n: number): AuditEventInput => ({
  id: randomUUID(),
  tenant: 'acme',
  time: new Date().toISOString(),
  type: 'mutation',
  action: `Op${n}`,
  actor: { principal: 'u', credential: 'jwt' },
  outcome: 'ok',
});

async function setup(maxBytes = 1_000_000, tenantGone?: (tenant: string) => Promise<boolean>) {
  const fake = fakeStore();
  const lines: string[] = [];
  const spool = await openSpool({ path: join(mkdtempSync(join(tmpdir(), 'audit-spool-')), 'spool.ndjson'), maxBytes });
  const writer = createAuditWriter({
    store: fake.open,
    spool,
    signer,
    logger: createLogger({ sink: (line) => lines.push(line) }),
    flushIntervalMs: 60_000,
    checkpointIntervalMs: 60_000,
    ...(tenantGone ? { tenantGone } : {}),
  });
  return { fake, spool, writer, lines };
}

describe('the audit writer', () => {
  it('writes what is queued, in order, on flush', async () => {
    const { fake, writer } = await setup();
    for (let n = 1; n <= 5; n++) writer.record(event(n));
    await writer.flush();
    expect(fake.written.map((e) => e.action)).toEqual(['Op1', 'Op2', 'Op3', 'Op4', 'Op5']);
    await writer.close();
  });

  it('spools while the store is down and replays the spool first, in order, when it is back', async () => {
    const { fake, spool, writer } = await setup();
    writer.record(event(1));
    await writer.flush();
    fake.state.up = false;
    for (let n = 2; n <= 4; n++) writer.record(event(n));
    await writer.flush();
    writer.record(event(5));
    await writer.flush();
    expect(spool.bytes()).toBeGreaterThan(0);
    expect(fake.written.map((e) => e.action)).toEqual(['Op1']);
    fake.state.up = true;
    writer.record(event(6));
    await writer.flush();
    expect(fake.written.map((e) => e.action)).toEqual(['Op1', 'Op2', 'Op3', 'Op4', 'Op5', 'Op6']);
    expect(spool.bytes()).toBe(0);
    expect(writer.stats()).toMatchObject({ lost: 0, degraded: false });
    await writer.close();
  });

  it("drops an erased tenant's spooled events at replay, naming neither it nor them in the log", async () => {
    const erased = new Set<string>();
    let controlPlaneUp = true;
    const { fake, spool, writer, lines } = await setup(1_000_000, async (tenant) => {
      if (!controlPlaneUp) throw new Error('control plane unavailable');
      return erased.has(tenant);
    });
    fake.state.up = false;
    writer.record(event(1));
    writer.record({ ...event(2), tenant: 'globex', action: 'GlobexOp' });
    writer.record(event(3));
    await writer.flush();
    expect(spool.bytes()).toBeGreaterThan(0);
    // `tenant erase globex` ran meanwhile; then the store is back, but the control plane cannot answer yet.
    erased.add('globex');
    fake.state.up = true;
    controlPlaneUp = false;
    writer.record(event(4));
    await writer.flush();
    expect(fake.written).toEqual([]);
    expect(spool.bytes()).toBeGreaterThan(0);
    expect(lines.some((line) => line.includes('the control plane cannot say which tenants were erased'))).toBe(true);
    // The store is not touched (nor blamed) while the spool waits.
    expect(fake.state.opens).toBe(1);
    controlPlaneUp = true;
    await writer.flush();
    // In arrival order: the event recorded while the spool waited comes after the spooled ones.
    expect(fake.written.map((e) => [e.tenant, e.action])).toEqual([
      ['acme', 'Op1'],
      ['acme', 'Op3'],
      ['acme', 'Op4'],
    ]);
    expect(spool.bytes()).toBe(0);
    const dropped = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(dropped).toContainEqual(
      expect.objectContaining({ msg: 'audit spool: events of erased tenants dropped', events: 1, tenants: 1 }),
    );
    expect(lines.join('\n')).not.toContain('globex');
    expect(lines.join('\n')).not.toContain('GlobexOp');
    await writer.close();
  });

  it('counts and logs events lost to a full spool, reports itself degraded until the spool drained', async () => {
    const { fake, writer, lines } = await setup(600);
    const onePerLine = JSON.stringify(event(0)).length + 1;
    fake.state.up = false;
    for (let n = 1; n <= 10; n++) {
      writer.record(event(n));
      await writer.flush();
    }
    const kept = Math.floor(600 / onePerLine);
    expect(writer.stats()).toMatchObject({ lost: 10 - kept, degraded: true });
    expect(lines.some((line) => line.includes('audit events lost'))).toBe(true);
    fake.state.up = true;
    await writer.flush();
    expect(fake.written).toHaveLength(kept);
    expect(writer.degraded()).toBe(false);
    await writer.close();
  });

  it('flushes on close and signs a checkpoint over the head it wrote', async () => {
    const { fake, writer } = await setup();
    writer.record(event(1));
    writer.record(event(2));
    await writer.close();
    expect(fake.written).toHaveLength(2);
    expect(fake.checkpoints).toEqual([
      expect.objectContaining({ tenant: 'acme', seq: 2, kind: 'head', keyId: signer.keyId }),
    ]);
  });

  it('signs no checkpoint over a head that is gone: the tenant was erased after its events were written', async () => {
    const { fake, writer } = await setup();
    writer.record(event(1));
    await writer.flush();
    fake.state.erased = true;
    await writer.checkpoint();
    expect(fake.checkpoints).toEqual([]);
    fake.state.erased = false;
    writer.record(event(2));
    await writer.close();
    expect(fake.checkpoints).toEqual([expect.objectContaining({ tenant: 'acme', seq: 2 })]);
  });

  it('spools on close when the store is down: nothing is lost at shutdown', async () => {
    const { fake, spool, writer } = await setup();
    fake.state.up = false;
    writer.record(event(1));
    await writer.close();
    expect((await spool.readAll()).map((e) => e.action)).toEqual(['Op1']);
  });
});

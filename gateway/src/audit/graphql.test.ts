import type { AuditRecord } from './event';
import { auditEventsResolver, parseAuditArgs } from './graphql';
import type { AuditQuery } from './store';

describe('parseAuditArgs', () => {
  it('reads a page request', () => {
    expect(parseAuditArgs({ first: 5, after: '12', type: 'refusal', actor: 'key:k1', since: '2026-12-01' })).toEqual({
      ok: true,
      first: 5,
      query: { afterSeq: 12, type: 'refusal', actor: 'key:k1', since: new Date('2026-12-01') },
    });
    expect(parseAuditArgs({})).toEqual({ ok: true, first: 20, query: {} });
  });

  it.each([
    [{ first: 0 }, 'first must be an integer from 1 to 100'],
    [{ first: 101 }, 'first must be an integer from 1 to 100'],
    [{ after: 'abc' }, 'after must be a cursor from a previous page'],
    [{ after: '1'.repeat(16) }, 'after must be a cursor from a previous page'],
    [{ type: 'all' }, 'type must be one of mutation, refusal, credential, control'],
    [{ actor: 'x'.repeat(257) }, 'actor is too long'],
    [{ since: 'yesterday' }, 'since must be an ISO-8601 date or time'],
    [{ since: '2'.repeat(41) }, 'since must be an ISO-8601 date or time'],
  ])('refuses %p', (args, problem) => {
    expect(parseAuditArgs(args)).toEqual({ ok: false, problem });
  });
});

describe('auditEventsResolver', () => {
  const record = (seq: number): AuditRecord => ({
    id: `id-${seq}`,
    tenant: 'acme',
    seq,
    prevHash: 'p',
    hash: 'h',
    time: 't',
    type: 'mutation',
    action: 'Op',
    actor: { principal: 'u', credential: 'jwt' },
    outcome: 'ok',
  });

  it("reads the caller's tenant only, one more than asked to tell whether there is a next page", async () => {
    const asked: [string, AuditQuery, number][] = [];
    const resolve = auditEventsResolver({
      page: async (tenant, query, limit) => {
        asked.push([tenant, query, limit]);
        return [record(4), record(5), record(6)];
      },
    });
    const page = await resolve(null, { first: 2, after: '3' }, { caller: { tenantId: 'acme' } as never });
    expect(asked).toEqual([['acme', { afterSeq: 3 }, 3]]);
    expect(page).toMatchObject({ endCursor: '5', hasNextPage: true });
    expect(page.nodes.map((n) => n.seq)).toEqual([4, 5]);
  });

  it('fails closed without a caller, and says so when the trail is off', async () => {
    await expect(auditEventsResolver({ page: async () => [] })(null, {}, {})).rejects.toThrow('Forbidden');
    await expect(auditEventsResolver(undefined)(null, {}, { caller: { tenantId: 'acme' } as never })).rejects.toThrow(
      'not enabled',
    );
  });
});

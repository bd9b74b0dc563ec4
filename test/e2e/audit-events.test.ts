/**
 * `auditEvents` on the real platform (real subgraphs on FerretDB, Redis, HTTP, the audit trail on): a tenant's admins
 * page through their own tenant's events — executed mutations with redacted variables, refusals — and nobody else's;
 * anyone else is refused, and bad arguments are refused before anything runs.
 */
import { randomBytes } from 'node:crypto';
import { auditedGateway, startRealPlatform, type GraphQLResult, type RealPlatform } from './platform';

const INVITE = 'mutation Invite($input: InviteUserInput!) { inviteUser(input: $input) { id } }';
const EVENTS = `query Events($first: Int, $after: String, $type: String) {
  auditEvents(first: $first, after: $after, type: $type) {
    nodes { seq type action outcome errorCodes requestId variables hash prevHash actor { principal credential } }
    endCursor
    hasNextPage
  }
}`;

interface Page {
  nodes: { seq: number; type: string; action: string; requestId: string | null; variables: string | null }[];
  endCursor: string | null;
  hasNextPage: boolean;
}

let platform: RealPlatform;
const run = randomBytes(4).toString('hex');

beforeAll(async () => {
  platform = await startRealPlatform({ gateway: { audit: auditedGateway(60_000).audit } });
}, 60_000);

afterAll(async () => {
  await platform?.stop();
});

async function invite(tenant: string, role: 'admin' | 'customer', n: number): Promise<GraphQLResult> {
  return platform.graphql(await platform.token(tenant, role), INVITE, {
    input: { name: `Audit Person ${n}`, email: `audit-${run}-${n}@${tenant}.test`, roles: ['CUSTOMER'] },
  });
}

async function events(token: string, variables: Record<string, unknown>): Promise<Page> {
  const result = await platform.graphql(token, EVENTS, variables);
  expect(result.body.errors).toBeUndefined();
  return result.body.data!.auditEvents as Page;
}

it("pages through the caller's tenant's events, only those, with variables redacted", async () => {
  const acmeInvites = [await invite('acme', 'admin', 1), await invite('acme', 'admin', 2)];
  for (const result of acmeInvites) expect(result.body.errors).toBeUndefined();
  const refused = await invite('acme', 'customer', 3);
  expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect((await invite('globex', 'admin', 4)).body.errors).toBeUndefined();

  const admin = await platform.token('acme', 'admin');
  // Written within a flush interval; read until they are there (bounded).
  let all: Page['nodes'] = [];
  for (let i = 0; i < 100 && all.length < 3; i++) {
    all = (await events(admin, { first: 100 })).nodes;
    if (all.length < 3) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(all.map((e) => [e.type, e.action])).toEqual([
    ['mutation', 'Invite'],
    ['mutation', 'Invite'],
    ['refusal', 'FORBIDDEN'],
  ]);
  expect(all.map((e) => e.seq)).toEqual([1, 2, 3]);
  const text = JSON.stringify(all);
  expect(text).not.toContain(`audit-${run}`);
  expect(text).not.toContain('Audit Person');
  expect(JSON.parse(all[0]!.variables!)).toEqual({
    input: { email: expect.stringMatching(/^hmac:/), name: expect.stringMatching(/^hmac:/), roles: ['CUSTOMER'] },
  });

  const first = await events(admin, { first: 2 });
  expect(first).toMatchObject({ endCursor: '2', hasNextPage: true });
  const second = await events(admin, { first: 2, after: first.endCursor });
  expect(second.nodes.map((e) => e.seq)).toEqual([3]);
  expect(second.hasNextPage).toBe(false);
  expect((await events(admin, { type: 'refusal' })).nodes.map((e) => e.action)).toEqual(['FORBIDDEN']);

  // globex's admin sees globex's one event, never acme's.
  const globex = (await events(await platform.token('globex', 'admin'), { first: 100 })).nodes;
  expect(globex.map((e) => e.action)).toEqual(['Invite']);
});

it('refuses anyone but an admin, and bad arguments, before anything runs', async () => {
  const customer = await platform.graphql(await platform.token('acme', 'customer'), EVENTS, {});
  expect(customer.status).toBe(403);
  expect(customer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  const admin = await platform.token('acme', 'admin');
  for (const variables of [{ type: 'everything' }, { after: 'not-a-cursor' }]) {
    const result = await platform.graphql(admin, EVENTS, variables);
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  }
  const tooMany = await platform.graphql(admin, EVENTS, { first: 1_000 });
  expect(tooMany.status).toBe(400);
});

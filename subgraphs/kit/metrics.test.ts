/**
 * A subgraph's own /metrics, against a real subgraph (products) on FerretDB: request durations, the MongoDB
 * commands it sent (from the driver's command monitoring), and its DataLoader batch sizes — and nothing of what the
 * requests carried (tenant, filter values).
 */
import { Types } from 'mongoose';
import { products } from '../products/index';
import { entitiesQuery, startTestSubgraph, userCaller, type TestSubgraph } from './testing';

let sg: TestSubgraph;
const staff = userCaller('acme', 'staff@acme.test', ['staff']);
const CREATE = 'mutation Create($input: CreateProductInput!) { createProduct(input: $input) { id } }';

beforeAll(async () => {
  sg = await startTestSubgraph(products, { metrics: true });
});

afterAll(async () => {
  await sg?.close();
});

function sampleValue(text: string, name: string, labels: Record<string, string>): number {
  const lines = text
    .split('\n')
    .filter(
      (line) => line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)),
    );
  if (lines.length !== 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${lines.length} samples`);
  return Number(lines[0]!.split(' ').pop());
}

test('serves request durations, MongoDB command durations and DataLoader batch sizes on its own listener', async () => {
  expect(sg.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const sku = `METRICS-${new Types.ObjectId().toHexString().slice(-12).toUpperCase()}`;
  const created = await sg.request(CREATE, {
    as: staff,
    variables: { input: { sku, name: 'Metered', price: 100, weight: 1 } },
  });
  expect(created.body.errors).toBeUndefined();
  const id = (created.body.data?.createProduct as { id: string }).id;
  // Seven representations in one request: one batch of seven keys.
  const representations = [id, ...Array.from({ length: 6 }, () => new Types.ObjectId().toHexString())].map((key) => ({
    __typename: 'Product',
    id: key,
  }));
  const res = await sg.request(entitiesQuery('... on Product { id }'), { as: staff, variables: { representations } });
  expect(res.status).toBe(200);

  const scrape = await fetch(sg.metricsUrl ?? '');
  expect(scrape.status).toBe(200);
  const text = await scrape.text();
  expect(
    sampleValue(text, 'http_server_request_duration_seconds_count', {
      http_route: '/graphql',
      http_response_status_code: '200',
      subgraph: 'products',
    }),
  ).toBe(2);
  expect(sampleValue(text, 'dataloader_batch_size_count', { loader: 'Product._id' })).toBe(1);
  expect(sampleValue(text, 'dataloader_batch_size_sum', { loader: 'Product._id' })).toBe(7);
  expect(
    sampleValue(text, 'db_client_operation_duration_seconds_count', {
      db_operation_name: 'insert',
      error_type: 'none',
    }),
  ).toBeGreaterThanOrEqual(1);
  expect(
    sampleValue(text, 'db_client_operation_duration_seconds_count', { db_operation_name: 'find', error_type: 'none' }),
  ).toBeGreaterThanOrEqual(1);
  // Nothing the requests carried: no tenant, no value.
  expect(text).not.toContain('acme');
  expect(text).not.toContain(sku);
  expect((await fetch(sg.url.replace('/graphql', '/metrics'))).status).toBe(404);
});

/* global window, crypto, TextEncoder, fetch */
/**
 * The browser frontend of apollo-client.browser.test.ts, bundled by esbuild when the test runs: a shop page's data
 * layer as a real application writes it with Apollo Client 4 — client awareness (`name`, `version`), an
 * OpenTelemetry `traceparent` header, and automatic persisted queries sent by GET (`createPersistedQueryLink({
 * sha256, useGETForHashedQueries: true })`). Every fetch is recorded (method, status, the RateLimit header as the
 * page's own code reads it) so the test can see what went over the wire from inside the page.
 *
 * Plain JavaScript: the repository's TypeScript has no DOM library, and this file only runs in Chromium.
 */
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, ServerError, gql } from '@apollo/client';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';

/** The hash APQ names a document by: SHA-256 of its printed text, hex, from the browser's own crypto. */
async function sha256(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * The query, named for this run: APQ keeps a text under its hash for a day whatever the tenant, so a fixed text
 * registered by an earlier run would skip the POST this page is meant to show.
 */
const stockQuery = (run) =>
  gql(`
  query Stock_${run}($id: ID!) {
    product(id: $id) {
      id
      quantity
    }
  }
`);

const ADJUST = gql`
  mutation Adjust($id: ID!) {
    adjustStock(productId: $id, delta: 1) {
      id
      quantity
    }
  }
`;

/** What a failed operation said: the codes of its GraphQL errors, or the transport failure. */
function describeError(error) {
  if (CombinedGraphQLErrors.is(error)) return { codes: error.errors.map((e) => e.extensions?.code) };
  if (ServerError.is(error)) {
    try {
      return { status: error.statusCode, codes: JSON.parse(error.bodyText).errors.map((e) => e.extensions?.code) };
    } catch {
      return { status: error.statusCode, message: error.message };
    }
  }
  return { message: String(error) };
}

/**
 * Runs the scenario against `gatewayUrl` with `token` (`run` names this run's query): the stock query twice (the first time APQ falls back to a
 * POST with the text, the second is a GET by hash), the mutation by POST, then the same mutation forced onto GET
 * by a second client (fetchOptions.method), which the gateway must refuse, and the stock once more.
 */
window.runScenario = async ({ gatewayUrl, token, productId, traceparent, run: runId }) => {
  const STOCK = stockQuery(runId);
  const requests = [];
  // The page's own view of every answer: what browser code can read of it (CORS exposes RateLimit).
  const recordingFetch = async (uri, options) => {
    const response = await fetch(uri, options);
    requests.push({
      method: options.method ?? 'GET',
      status: response.status,
      query: String(uri).includes('?'),
      rateLimit: response.headers.get('ratelimit'),
      requestId: response.headers.get('x-request-id'),
    });
    return response;
  };
  const httpOptions = {
    uri: gatewayUrl,
    fetch: recordingFetch,
    headers: { authorization: `Bearer ${token}`, traceparent },
  };
  const persisted = () => createPersistedQueryLink({ sha256, useGETForHashedQueries: true });
  const makeClient = (http) =>
    new ApolloClient({
      link: persisted().concat(http),
      cache: new InMemoryCache(),
      clientAwareness: { name: 'web-shop', version: '1.2.3' },
      defaultOptions: { query: { fetchPolicy: 'network-only' } },
    });
  const client = makeClient(new HttpLink(httpOptions));
  // What a careless or hostile bundle could do: force every operation, mutations included, onto GET.
  const everythingByGet = makeClient(new HttpLink({ ...httpOptions, fetchOptions: { method: 'GET' } }));

  const steps = {};
  const run = async (name, operation) => {
    const from = requests.length;
    try {
      const { data } = await operation();
      steps[name] = { data };
    } catch (error) {
      steps[name] = { error: describeError(error) };
    }
    steps[name].requests = requests.slice(from);
  };
  await run('firstQuery', () => client.query({ query: STOCK, variables: { id: productId } }));
  await run('secondQuery', () => client.query({ query: STOCK, variables: { id: productId } }));
  await run('mutation', () => client.mutate({ mutation: ADJUST, variables: { id: productId } }));
  await run('mutationByGet', () => everythingByGet.mutate({ mutation: ADJUST, variables: { id: productId } }));
  await run('finalQuery', () => client.query({ query: STOCK, variables: { id: productId } }));
  return steps;
};

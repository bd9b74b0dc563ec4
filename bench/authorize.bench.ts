/**
 * What authorization adds to a request: median and p95 of one gate evaluation with the real rules and API schema,
 * for an operation seen before (analysis cached: only the rules run) and for a first-seen one (walk + rules), and
 * of the filter-mode rewrite (print + SHA-256 of the new document), which is cached per document after that.
 *
 *   npx tsx bench/authorize.bench.ts [iterations]
 */
import { parse } from 'graphql';
import { fieldFilterFor } from '../gateway/src/authz/filter';
import { AuthorizationGate, queryHashOf, type GateRequest } from '../gateway/src/authz/gate';
import { introspectionRule, ruleTree } from '../gateway/src/authz/rules';
import { apiSchema, partner, person } from '../gateway/src/authz/test-fixtures';

const iterations = Number(process.argv[2] ?? 5_000);
const WARMUP = 500;

/** A storefront page: the caller, a page of products with stock and their latest reviews. */
function storefront(alias: string): string {
  return `query Storefront($first: Int!, $withReviews: Boolean!) {
    me { id name email }
    ${alias}: products(first: $first) {
      edges { cursor node {
        id sku name price weight inStock quantity shippingEstimate
        reviews(first: 3) @include(if: $withReviews) {
          edges { node { id rating body author { id name } } }
          pageInfo { hasNextPage endCursor }
        }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }`;
}

function request(query: string, caller = person('customer')): GateRequest {
  return {
    document: parse(query),
    operationName: 'Storefront',
    queryHash: queryHashOf(query),
    variables: { first: 20, withReviews: true },
    caller,
  };
}

function report(label: string, samples: number[]): void {
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]?.toFixed(1);
  console.log(`${label.padEnd(48)} median ${at(0.5)} µs   p95 ${at(0.95)} µs   (${samples.length} runs)`);
}

async function timeEvaluations(gate: AuthorizationGate, requests: readonly GateRequest[]): Promise<number[]> {
  const samples: number[] = [];
  for (const req of requests) {
    const start = process.hrtime.bigint();
    await gate.evaluate(req);
    samples.push(Number(process.hrtime.bigint() - start) / 1_000);
  }
  return samples;
}

async function main(): Promise<void> {
  const gate = new AuthorizationGate({ schema: apiSchema, rules: ruleTree, introspectionRule });
  const repeated = request(storefront('products'));
  for (let i = 0; i < WARMUP; i++) await gate.evaluate(repeated);
  report('repeated operation (analysis cached)', await timeEvaluations(gate, Array(iterations).fill(repeated)));

  // Distinct aliases give distinct documents and hashes; parsing is done beforehand, it is not the gate's cost.
  const fresh = Array.from({ length: iterations }, (_, i) => request(storefront(`page${i}`)));
  report('first-seen operation (walk + rules)', await timeEvaluations(gate, fresh));

  // A partner without inventory or review scopes: filter mode rewrites each new document once.
  const rewrites: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const { analysis, denials } = await gate.evaluate(request(storefront(`partner${i}`), partner('catalog:read')));
    const start = process.hrtime.bigint();
    fieldFilterFor(analysis, denials);
    rewrites.push(Number(process.hrtime.bigint() - start) / 1_000);
  }
  report('filter-mode rewrite of a first-seen document', rewrites);
  console.log(`analysis cache: ${JSON.stringify(gate.cacheStats)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

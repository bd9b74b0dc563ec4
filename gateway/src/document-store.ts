/**
 * Apollo Server's parsed-document cache, bounded in bytes and filled only with documents that were executed.
 *
 * Apollo's default store is an LRU of 30 MiB measured as `JSON.stringify(document).length`, and it stores every
 * document that validates — before any plugin has decided anything. A JSON length leaves out what a parsed document
 * really keeps alive (object headers, and through every node's `loc` the lexer's whole token list): about 4.4 times
 * the JSON, so the default store alone grew to ~130 MB of heap under a flood of distinct documents, most of them
 * refused by the caller's budget a moment later.
 *
 * Here:
 * - Apollo's `set` only notes the document; the request's `executionDidStart` (reached only when every stage of the
 *   pipeline admitted the operation) stores it — once the budget's decision, which may still be in flight then
 *   (pipeline/cost.ts), has admitted it too. A document refused for its shape, rights or budget is parsed again
 *   next time — which is the refused caller's cost, not every tenant's memory.
 * - Once validated, a document's locations are dropped (`dropLocations`; validation errors already have theirs), so
 *   every cache that keeps it — this one, the authorization gate's, the cost estimator's — keeps 2–3 times less.
 * - The bound is in estimated heap bytes (`documentBytes`).
 */
import type { ApolloServerOptions, ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { DocumentNode } from 'graphql';
import { createByteBoundedCache, documentBytes, dropLocations, type CacheStats } from './cache';
import type { RequestContext } from './request';

export interface DocumentStoreOptions {
  /** Estimated heap bytes of the documents kept. */
  readonly maxBytes: number;
}

export interface DocumentStore {
  /** Apollo Server's `documentStore` option. */
  readonly store: NonNullable<ApolloServerOptions<BaseContext>['documentStore']>;
  /** Drops locations after validation and stores executed documents; must be among Apollo Server's plugins. */
  readonly plugin: ApolloServerPlugin;
  stats(): CacheStats;
}

export function createDocumentStore(options: DocumentStoreOptions): DocumentStore {
  const cache = createByteBoundedCache<DocumentNode>({
    name: 'documents',
    maxBytes: options.maxBytes,
    sizeOf: documentBytes,
  });
  // The key Apollo asked to store a document under (its schema hash prefix and the query hash), until the request
  // that parsed it is admitted. Weak: a refused request's document goes with it.
  const pending = new WeakMap<DocumentNode, string>();
  return {
    store: {
      get: (key) => Promise.resolve(cache.get(key)),
      set(key, document) {
        pending.set(document, key);
        return Promise.resolve();
      },
      delete(key) {
        cache.delete(key);
        return Promise.resolve();
      },
    },
    plugin: {
      async requestDidStart() {
        // The document as parsed: a stage may put a rewritten one in its place (authorization's filter mode), which
        // is not what the next request with this text parses to.
        let parsed: DocumentNode | undefined;
        return {
          async validationDidStart(requestContext) {
            return async (errors) => {
              if (errors?.length || !requestContext.document) return;
              parsed = requestContext.document;
              dropLocations(parsed);
            };
          },
          async executionDidStart({ contextValue }) {
            const document = parsed;
            const key = document && pending.get(document);
            if (!document || key === undefined) return;
            pending.delete(document);
            // The budget's decision may still be in flight (pipeline/cost.ts): a document refused for its budget is
            // not kept, as before the decision moved after this hook.
            const admission = (contextValue as Pick<RequestContext, 'admission'>).admission;
            if (!admission) cache.set(key, document);
            else void admission.decision.then((refusal) => (refusal ? undefined : cache.set(key, document)));
          },
        };
      },
    },
    stats: () => cache.stats(),
  };
}

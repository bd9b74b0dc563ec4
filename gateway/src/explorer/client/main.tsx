/**
 * The schema explorer's page: GraphiQL (documentation explorer, history) behind a bar where a developer pastes a
 * development token. Every request goes to this gateway's own /graphql with that token; introspection answers with
 * only what the token's roles may call. The token stays in this tab's memory: nothing here stores or mints it.
 */
import type { Fetcher, FetcherParams } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import { useCallback, useMemo, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import './explorer.css';

const TOKEN_COMMAND = 'npm run --silent token -- --tenant acme --user admin@acme.test --roles developer';

interface Cost {
  requestedQueryCost?: number;
  actualQueryCost?: number;
  throttleStatus?: { maximumAvailable?: number; currentlyAvailable?: number; restoreRate?: number };
}

/** The token's claims, for display only: the gateway verifies the signature, this page cannot and need not. */
function claimsOf(token: string): { tenant?: unknown; roles?: unknown; sub?: unknown } | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const bytes = Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as { tenant?: unknown; roles?: unknown };
  } catch {
    return undefined;
  }
}

function createFetcher(token: string, onCost: (cost: Cost | undefined) => void): Fetcher {
  return async (params: FetcherParams) => {
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(params),
    });
    const body = (await response.json()) as { extensions?: { cost?: Cost } };
    // Introspection is answered by the gateway and carries no cost: only operations keep the panel current.
    if (params.operationName !== 'IntrospectionQuery') onCost(body.extensions?.cost);
    return body;
  };
}

function CostPanel({ cost }: { cost: Cost | undefined }) {
  if (!cost) return <span id="cost">cost: —</span>;
  const status = cost.throttleStatus;
  return (
    <span id="cost">
      cost: requested <b data-testid="requested-cost">{cost.requestedQueryCost ?? '—'}</b> · actual{' '}
      <b data-testid="actual-cost">{cost.actualQueryCost ?? '—'}</b>
      {status ? ` · budget ${status.currentlyAvailable ?? '?'} / ${status.maximumAvailable ?? '?'}` : ''}
    </span>
  );
}

function Explorer() {
  const [draft, setDraft] = useState('');
  const [token, setToken] = useState('');
  const [cost, setCost] = useState<Cost | undefined>();
  const claims = useMemo(() => (token ? claimsOf(token) : undefined), [token]);
  const fetcher = useMemo(() => createFetcher(token, setCost), [token]);
  const applyToken = useCallback(
    (event: FormEvent) => {
      event.preventDefault();
      setToken(draft.trim());
      setCost(undefined);
    },
    [draft],
  );

  return (
    <div className="tollgate-explorer">
      <form className="tollgate-bar" onSubmit={applyToken}>
        <strong>Tollgate explorer</strong>
        <input
          id="token"
          type="password"
          autoComplete="off"
          placeholder="Paste a development token"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <button id="use-token" type="submit">
          Use token
        </button>
        {claims ? (
          <span id="identity">
            tenant <b>{String(claims.tenant)}</b> · roles{' '}
            <b>{Array.isArray(claims.roles) ? claims.roles.join(', ') : '—'}</b>
          </span>
        ) : (
          <code id="token-help">{TOKEN_COMMAND}</code>
        )}
        <CostPanel cost={cost} />
      </form>
      {token ? (
        <div className="tollgate-graphiql">
          <GraphiQL key={token} fetcher={fetcher} shouldPersistHeaders={false} defaultEditorToolsVisibility={false} />
        </div>
      ) : (
        <p className="tollgate-hint">
          The explorer shows the part of the graph your token may call. Get a developer token with{' '}
          <code>{TOKEN_COMMAND}</code> and paste it above.
        </p>
      )}
    </div>
  );
}

const root = document.getElementById('root');
if (root) createRoot(root).render(<Explorer />);

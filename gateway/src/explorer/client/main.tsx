/**
 * The schema explorer's page: GraphiQL 5 (Monaco editors, documentation explorer, history, and a query-plan plugin)
 * behind a bar where a developer pastes a development token. Every request goes to this gateway's own /graphql
 * with that token and the headers of the Headers tab (headers.ts says which are not sent, and why); introspection
 * answers with only what the token's roles — or the persona chosen under "View as" — may call. The token stays in
 * this tab's memory, or, if the box is ticked, in this tab's sessionStorage (token.ts); nothing here mints it.
 */
// First: every <style> the editors create carries this response's CSP nonce (style-nonce.ts).
import './style-nonce';
import { pick, useGraphiQL } from '@graphiql/react';
import type { Fetcher, FetcherOpts, FetcherParams } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { checkUserHeaders, explainRefusal } from './headers';
import { CostPanel, DocumentContext, HeaderNotice, PlanIcon, PlanView, type RunCost } from './panels';
import { keepToken, keptToken } from './session';
import { claimsOf, expiryText, rolesOf, type Claims } from './token';
import { identityHeaders, type Identity } from './tools';
import { setUpWorkers } from './workers';
import './explorer.css';

const TOKEN_COMMAND = 'npm run --silent token -- --tenant acme --user admin@acme.test --roles developer,customer';
/** The first tab's text: no operation, so nothing is estimated until one is written. */
const DEFAULT_QUERY =
  '# Write an operation: its estimated cost shows above before you run it, and\n' +
  '# the "Query plan" panel on the left shows how the gateway would fetch it.\n';
/**
 * GraphiQL's plugins, one array for the page's whole life. GraphiQL compares the `plugins` prop by identity: a new
 * array (an inline `[PLAN_PLUGIN]`, rebuilt at every render of Explorer — each edit re-renders it) makes it register
 * the plugins again and reset the visible plugin to its `visiblePlugin` prop, none, while the sidebar's pane stays
 * open: the Query plan panel emptied itself a moment after it was opened, its button back to "Show Query plan".
 */
const PLUGINS = [{ title: 'Query plan', icon: PlanIcon, content: PlanView }];

interface Hooks {
  onCost(cost: RunCost | undefined): void;
  onNotice(messages: string[]): void;
  onRequestId(id: string | undefined): void;
}

function createFetcher(identity: Identity, tenant: string | undefined, hooks: Hooks): Fetcher {
  return async (params: FetcherParams, opts?: FetcherOpts) => {
    const introspection = params.operationName === 'IntrospectionQuery';
    const user = introspection ? { send: {}, refused: [] } : checkUserHeaders(opts?.headers);
    const response = await fetch('/graphql', {
      method: 'POST',
      // The user's headers first: the explorer's own (token, persona) are never overridden by them.
      headers: { ...user.send, 'content-type': 'application/json', ...identityHeaders(identity) },
      body: JSON.stringify(params),
    });
    const body = (await response.json()) as { extensions?: { cost?: RunCost } } & Parameters<typeof explainRefusal>[1];
    // Introspection is answered by the gateway and carries no cost: only operations keep the panels current.
    if (!introspection) {
      hooks.onCost(body?.extensions?.cost);
      hooks.onRequestId(response.headers.get('x-request-id') ?? undefined);
      const refusal = explainRefusal(response.status, body, user.send, tenant);
      hooks.onNotice([...user.refused, ...(refusal ? [refusal] : [])]);
    }
    // GraphiQL shows whatever the gateway answered, refusals included.
    return body as Awaited<ReturnType<Fetcher>>;
  };
}

/**
 * Reports what GraphiQL's editors opened with: on a new page, the tab GraphiQL restored from what it saved (this
 * origin's localStorage, shared by the pages of a browser context), so the estimate and plan price the document
 * shown rather than the explorer's empty one. Edits and tab switches are reported by GraphiQL's own callbacks;
 * an editor's first value is not (no edit happened).
 */
function OpenedDocument({ onOpen }: { onOpen(query: string, variables: string): void }) {
  const { queryEditor, variableEditor } = useGraphiQL(pick('queryEditor', 'variableEditor'));
  useEffect(() => {
    if (queryEditor && variableEditor) onOpen(queryEditor.getValue(), variableEditor.getValue());
  }, [queryEditor, variableEditor, onOpen]);
  return null;
}

function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

function Expiry({ claims }: { claims: Claims | undefined }) {
  const expiry = expiryText(claims, useNow());
  if (!expiry) return null;
  return (
    <span id="expiry" className={expiry.expired ? 'tollgate-expired' : undefined}>
      {expiry.text}
    </span>
  );
}

/** "View as": the roles of the token to run as; none ticked is the token itself (no header sent). */
function ViewAs(props: { roles: string[]; chosen: string[]; onChange(roles: string[]): void }) {
  return (
    <fieldset id="view-as" className="tollgate-view-as">
      <legend>View as</legend>
      {props.roles.map((role) => (
        <label key={role}>
          <input
            type="checkbox"
            name="view-as"
            value={role}
            checked={props.chosen.includes(role)}
            onChange={(e) =>
              props.onChange(e.target.checked ? [...props.chosen, role] : props.chosen.filter((r) => r !== role))
            }
          />
          {role}
        </label>
      ))}
    </fieldset>
  );
}

function Explorer() {
  const [kept] = useState(keptToken);
  const [draft, setDraft] = useState(kept ?? '');
  const [token, setToken] = useState(kept ?? '');
  const [keep, setKeep] = useState(kept !== undefined);
  const [previewRoles, setPreviewRoles] = useState<string[]>([]);
  const [cost, setCost] = useState<RunCost | undefined>();
  const [notice, setNotice] = useState<string[]>([]);
  const [requestId, setRequestId] = useState<string | undefined>();
  const [query, setQuery] = useState(DEFAULT_QUERY);
  const [variables, setVariables] = useState('');
  const claims = useMemo(() => (token ? claimsOf(token) : undefined), [token]);
  const roles = rolesOf(claims);
  const developer = roles.includes('developer');
  const tenant = typeof claims?.tenant === 'string' ? claims.tenant : undefined;
  const identity = useMemo<Identity>(() => ({ token, previewRoles }), [token, previewRoles]);
  const fetcher = useMemo(
    () => createFetcher(identity, tenant, { onCost: setCost, onNotice: setNotice, onRequestId: setRequestId }),
    [identity, tenant],
  );
  const current = useMemo(() => ({ identity, query, variables, developer }), [identity, query, variables, developer]);
  const opened = useCallback((openedQuery: string, openedVariables: string) => {
    setQuery(openedQuery);
    setVariables(openedVariables);
  }, []);

  const applyToken = useCallback(
    (event: FormEvent) => {
      event.preventDefault();
      const next = draft.trim();
      setToken(next);
      setPreviewRoles([]);
      setCost(undefined);
      setNotice([]);
      keepToken(keep ? next : undefined);
    },
    [draft, keep],
  );
  const toggleKeep = (checked: boolean) => {
    setKeep(checked);
    keepToken(checked ? token : undefined);
  };

  return (
    <DocumentContext.Provider value={current}>
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
          <label className="tollgate-keep" title="Kept in this tab's sessionStorage until the tab is closed">
            <input id="keep-token" type="checkbox" checked={keep} onChange={(e) => toggleKeep(e.target.checked)} />
            keep for this tab
          </label>
          {claims ? (
            <span id="identity">
              tenant <b>{String(claims.tenant)}</b> · roles <b>{roles.length > 0 ? roles.join(', ') : '—'}</b>
            </span>
          ) : (
            <code id="token-help">{TOKEN_COMMAND}</code>
          )}
          <Expiry claims={claims} />
          {developer && roles.length > 1 ? (
            <ViewAs roles={roles} chosen={previewRoles} onChange={setPreviewRoles} />
          ) : null}
        </form>
        {token ? (
          <>
            <div className="tollgate-status">
              <CostPanel run={cost} />
              {requestId ? <span id="request-id">request id {requestId}</span> : null}
            </div>
            <HeaderNotice messages={notice} />
            <div className="tollgate-graphiql">
              {/*
                One GraphiQL for as long as there is a token: a new token or persona is a new fetcher, on which
                GraphiQL drops its schema and introspects again (the graph shown is the new identity's), while the
                tabs, their documents, variables and headers stay exactly as they are. Remounting it instead (a
                `key` per identity) gave the new instance the document but not the variables or headers, and a
                second tab whenever its saved tabs lagged the editors (it saves them a moment after an edit).
                No initialQuery either: GraphiQL compares it with the tabs it saved, and one that matches none
                (the explorer's empty document on a new page) is opened as one more tab beside them.
              */}
              <GraphiQL
                fetcher={fetcher}
                defaultQuery={DEFAULT_QUERY}
                onEditQuery={setQuery}
                onEditVariables={setVariables}
                // Switching tabs changes the document without an edit: the estimate and plan follow the active tab.
                onTabChange={({ tabs, activeTabIndex }) => {
                  setQuery(tabs[activeTabIndex]?.query ?? '');
                  setVariables(tabs[activeTabIndex]?.variables ?? '');
                }}
                shouldPersistHeaders={false}
                plugins={PLUGINS}
              >
                <OpenedDocument onOpen={opened} />
              </GraphiQL>
            </div>
          </>
        ) : (
          <p className="tollgate-hint">
            The explorer shows the part of the graph your token may call. Get a developer token with{' '}
            <code>{TOKEN_COMMAND}</code> and paste it above.
          </p>
        )}
      </div>
    </DocumentContext.Provider>
  );
}

setUpWorkers();
const root = document.getElementById('root');
if (root) createRoot(root).render(<Explorer />);

/**
 * The explorer's panels: the cost bar (the estimate before running, the last run's cost after), the query-plan
 * view (a GraphiQL sidebar plugin) and the notice for headers that were not sent or that the gateway refused.
 */
import { createContext, useContext, useEffect, useState } from 'react';
import {
  fetchEstimate,
  fetchPlan,
  missingVariables,
  variablesOf,
  type Estimate,
  type Identity,
  type ToolAnswer,
} from './tools';

/** What the last run's response said about its cost (`extensions.cost`). */
export interface RunCost {
  requestedQueryCost?: number;
  actualQueryCost?: number;
  throttleStatus?: { maximumAvailable?: number; currentlyAvailable?: number; restoreRate?: number };
}

/** The document being edited and who asks: the panels outside GraphiQL and the plugin inside it read this. */
export interface CurrentDocument {
  readonly identity: Identity;
  readonly query: string;
  readonly variables: string;
  /** Developers only: the tools answer 403 to anyone else, so they are not asked. */
  readonly developer: boolean;
}

export const DocumentContext = createContext<CurrentDocument | undefined>(undefined);

const DEBOUNCE_MS = 350;
const COMMENT = /#[^\n\r]*/g;

/** Whether the text holds anything besides comments: an empty or comment-only editor is not worth a request. */
function hasOperation(query: string): boolean {
  return query.replace(COMMENT, '').trim() !== '';
}

/** Asks a developer tool about the current document, a moment after the last edit; the older question is dropped. */
function useTool<T>(
  ask: typeof fetchEstimate | typeof fetchPlan,
  enabled: boolean,
): ToolAnswer<T> | 'pending' | undefined {
  const current = useContext(DocumentContext);
  const [answer, setAnswer] = useState<ToolAnswer<T> | 'pending' | undefined>();
  useEffect(() => {
    if (!current || !enabled || !current.developer || !hasOperation(current.query)) {
      setAnswer(undefined);
      return;
    }
    const variables = variablesOf(current.variables);
    const missing = missingVariables(current.query, variables);
    if (missing.length > 0) {
      setAnswer({ ok: false, message: `set ${missing.map((name) => `$${name}`).join(', ')} in Variables` });
      return;
    }
    const controller = new AbortController();
    setAnswer('pending');
    const timer = setTimeout(() => {
      const body = { query: current.query, variables };
      (ask(current.identity, body, controller.signal) as Promise<ToolAnswer<T>>).then(setAnswer, (error: unknown) => {
        if (!controller.signal.aborted) setAnswer({ ok: false, message: String(error) });
      });
    }, DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [ask, enabled, current]);
  return answer;
}

function EstimateText(props: { answer: ToolAnswer<Estimate> | 'pending' | undefined; developer: boolean }) {
  const { answer } = props;
  if (!props.developer) return <span className="tollgate-muted">estimate: developers only</span>;
  if (answer === undefined) return <span className="tollgate-muted">estimate: — (no operation yet)</span>;
  if (answer === 'pending') return <span className="tollgate-muted">estimating…</span>;
  if (!answer.ok)
    return (
      <span className="tollgate-estimate-error" title={answer.message}>
        estimate: {answer.message}
      </span>
    );
  const e = answer.value;
  return (
    <span
      id="estimate"
      className={e.overMaximum ? 'tollgate-over-max' : undefined}
      title={
        e.overMaximum
          ? `Over the ${e.plan} plan's maximum: ${e.costMode === 'enforce' ? 'refused' : 'measured only'}`
          : undefined
      }
    >
      estimate <b data-testid="estimated-cost">{e.requestedQueryCost}</b> / max{' '}
      <b data-testid="maximum-cost">{e.maximumCost}</b>
      {e.overMaximum ? ' · over the plan’s maximum' : ''} · budget {e.budget.capacity} (+{e.budget.restoreRate}/s)
    </span>
  );
}

export function CostPanel({ run }: { run: RunCost | undefined }) {
  const estimate = useTool<Estimate>(fetchEstimate, true);
  const developer = useContext(DocumentContext)?.developer ?? false;
  const status = run?.throttleStatus;
  return (
    <div id="cost" className="tollgate-cost" aria-live="polite">
      <EstimateText answer={estimate} developer={developer} />
      <span>
        last run: requested <b data-testid="requested-cost">{run?.requestedQueryCost ?? '—'}</b> · actual{' '}
        <b data-testid="actual-cost">{run?.actualQueryCost ?? '—'}</b>
        {status ? ` · budget left ${status.currentlyAvailable ?? '?'} / ${status.maximumAvailable ?? '?'}` : ''}
      </span>
    </div>
  );
}

/** The query-plan plugin's content: the gateway's plan for the document in the editor. */
export function PlanView() {
  const current = useContext(DocumentContext);
  const plan = useTool<{ queryPlan: string }>(fetchPlan, true);
  if (!current?.developer) return <p>The query plan is shown to developers only.</p>;
  return (
    <div className="tollgate-plan">
      <div className="graphiql-doc-explorer-title">Query plan</div>
      <p className="tollgate-muted">How the gateway splits this operation across subgraphs (not executed).</p>
      {plan === undefined ? (
        <p className="tollgate-muted">Write an operation in the editor: its plan shows here.</p>
      ) : plan === 'pending' ? (
        <p className="tollgate-muted">planning…</p>
      ) : plan.ok ? (
        <pre id="query-plan">{plan.value.queryPlan}</pre>
      ) : (
        <p id="query-plan-error">{plan.message}</p>
      )}
    </div>
  );
}

export const PlanIcon = () => (
  <svg viewBox="0 0 24 24" width="1em" height="1em" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden>
    <path d="M4 5h6v4H4zM14 15h6v4h-6zM14 5h6v4h-6zM7 9v8h7M17 9v6" />
  </svg>
);

export function HeaderNotice({ messages }: { messages: readonly string[] }) {
  if (messages.length === 0) return null;
  return (
    <div id="header-notice" role="alert" className="tollgate-notice">
      {messages.map((message) => (
        <div key={message}>{message}</div>
      ))}
    </div>
  );
}

/**
 * Monaco's web workers (editor, JSON for the variables and headers, GraphQL for the query) are bundled beside the
 * page (../bundle.ts) and started from this origin's URLs, which the page names on its root element: no CDN, no
 * blob: URL, so the page's `script-src 'self'` covers them (worker-src falls back to it) and the CSP needs no
 * relaxation for workers.
 */
const LABELS = { json: 'jsonWorker', graphql: 'graphqlWorker' } as const;

export function setUpWorkers(): void {
  const data = document.getElementById('root')?.dataset ?? {};
  (globalThis as { MonacoEnvironment?: unknown }).MonacoEnvironment = {
    getWorker(_workerId: string, label: string): Worker {
      const key = label in LABELS ? LABELS[label as keyof typeof LABELS] : 'editorWorker';
      const url = data[key];
      if (!url) throw new Error(`no ${key} on the page`);
      return new Worker(url, { name: label });
    },
  };
}

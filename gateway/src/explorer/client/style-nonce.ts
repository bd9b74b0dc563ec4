/**
 * Monaco adds `<style>` elements to the page at run time (its editor's dynamic rules) and GraphiQL's dialogs one
 * more. The page's CSP admits such elements only with the nonce of this response (`style-src-elem 'self'
 * 'nonce-…'`, ../routes.ts), which the page names on its root element. This module — imported first, before any
 * editor code runs — gives every `<style>` element the page creates that nonce. A `<style>` injected by anything
 * that does not run as this page's own script (markup from a response, say) still lacks it and is refused.
 */
const nonce = document.getElementById('root')?.dataset.styleNonce;

if (nonce) {
  const createElement = document.createElement.bind(document) as (
    tag: string,
    options?: ElementCreationOptions,
  ) => HTMLElement;
  document.createElement = ((tag: string, options?: ElementCreationOptions) => {
    const element = createElement(tag, options);
    if (tag.toLowerCase() === 'style') element.nonce = nonce;
    return element;
  }) as typeof document.createElement;
}

export {};

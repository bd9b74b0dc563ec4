/**
 * The token kept for this tab — only if the user ticks "keep for this tab" — in sessionStorage, which the browser
 * drops with the tab (and never shares with another tab). Nothing here stores the token anywhere else.
 */

const SESSION_KEY = 'tollgate.explorer.token';

export function keptToken(): string | undefined {
  try {
    return sessionStorage.getItem(SESSION_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the token for this tab's session, or forgets it. */
export function keepToken(token: string | undefined): void {
  try {
    if (token) sessionStorage.setItem(SESSION_KEY, token);
    else sessionStorage.removeItem(SESSION_KEY);
  } catch {
    // Storage disabled: the token stays in memory only, as without the box ticked.
  }
}

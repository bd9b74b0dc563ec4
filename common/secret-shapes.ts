/**
 * Finding credentials inside arbitrary text (log lines, URL parameters) in time linear in the text's length.
 *
 * The obvious patterns are not: a global `\beyJ[\w-]+\.[\w-]+\.[\w-]*` tries every `eyJ` of `"eyJ-"×n` and scans to
 * the end of the run from each — 100 KB took 3 s — and a log line or a URL can hold whatever a client sent. Here
 * the text is cut once into dotted runs of base64url characters (`[\w-]+(?:\.[\w-]*)*`, which never fails once it
 * starts, so the scan is linear), and each run is split at its dots: a token's segments are then whole pieces, and
 * every piece is looked at a bounded number of times.
 */

/** Maximal runs of base64url characters and dots, starting with a base64url character. */
const DOTTED_RUN = /[\w-]+(?:\.[\w-]*)*/g;
const REDACTED = '[redacted]';

function isWordChar(char: string | undefined): boolean {
  return char !== undefined && char !== '-' && char !== '.';
}

/**
 * Where a JWT may start in a segment (`\beyJ` with at least one more character), the leftmost; -1 if nowhere.
 * A piece is preceded by a dot or by a character outside the run, so its start is always a word boundary.
 */
function jwtStartIn(piece: string): number {
  for (let at = piece.indexOf('eyJ'); at !== -1; at = piece.indexOf('eyJ', at + 1)) {
    if (at + 3 < piece.length && !isWordChar(at === 0 ? undefined : piece[at - 1])) return at;
  }
  return -1;
}

/** Whether a segment ends in a `v1` that starts at a word boundary (an internal token's version). */
function endsWithVersion(piece: string): boolean {
  return piece.endsWith('v1') && !isWordChar(piece.length === 2 ? undefined : piece[piece.length - 3]);
}

/**
 * Replaces, in one run, `\beyJ[\w-]+\.[\w-]+\.[\w-]*` (a JWT) or `\bv1\.[\w-]{20,}\.[\w-]{20,}` (an internal token,
 * common/internal-token.ts) with `[redacted]`, as the global regular expressions would, leftmost first.
 */
function redactRun(run: string, kind: 'jwt' | 'internal'): string {
  const pieces = run.split('.');
  const out: string[] = [];
  let i = 0;
  while (i < pieces.length) {
    const piece = pieces[i]!;
    if (i + 2 < pieces.length) {
      if (kind === 'jwt') {
        const start = jwtStartIn(piece);
        if (start !== -1 && pieces[i + 1]!.length > 0) {
          out.push(piece.slice(0, start) + REDACTED);
          i += 3;
          continue;
        }
      } else if (endsWithVersion(piece) && pieces[i + 1]!.length >= 20 && pieces[i + 2]!.length >= 20) {
        out.push(piece.slice(0, -2) + REDACTED);
        i += 3;
        continue;
      }
    }
    out.push(piece);
    i += 1;
  }
  return out.join('.');
}

/** API keys, `tg_live_<keyId>_<secret>`: a literal prefix and a run that never fails, so linear as it is. */
const API_KEY = /tg_(?:live|test)_\w+/g;

/** Markers every shape below starts with: most strings skip the scans. */
const MARKERS = ['eyJ', 'tg_', 'v1.'];

/** The text with every JWT, Tollgate API key and internal token replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  if (!MARKERS.some((marker) => text.includes(marker))) return text;
  let out = text.includes('eyJ') ? text.replace(DOTTED_RUN, (run) => redactRun(run, 'jwt')) : text;
  out = out.replace(API_KEY, REDACTED);
  return out.includes('v1.') ? out.replace(DOTTED_RUN, (run) => redactRun(run, 'internal')) : out;
}

/**
 * Whether the text holds an API key's prefix or the start of a JWT (`eyJ…` followed by a `.eyJ` segment; what
 * `/tg_(?:live|test)_|eyJ[\w-]*\.eyJ/` matched).
 */
export function containsCredential(text: string): boolean {
  if (text.includes('tg_live_') || text.includes('tg_test_')) return true;
  if (!text.includes('.eyJ')) return false;
  for (const [run] of text.matchAll(DOTTED_RUN)) {
    const pieces = run.split('.');
    for (let i = 1; i < pieces.length; i++) {
      if (pieces[i]!.startsWith('eyJ') && pieces[i - 1]!.includes('eyJ')) return true;
    }
  }
  return false;
}

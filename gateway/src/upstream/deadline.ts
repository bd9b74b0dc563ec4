/**
 * The deadline a subgraph gets for one fetch. The gateway waits `fetchTimeoutMs` for the answer; the subgraph is
 * told to be done a margin earlier, so that its own refusal (SERVICE_UNAVAILABLE when its database does not
 * answer) still travels back before the gateway gives up and reports a bare timeout. The margin covers the trip
 * both ways and writing the answer; it is a tenth of the timeout, at least 20 ms and at most 500 ms.
 */
export function subgraphDeadlineMs(fetchTimeoutMs: number): number {
  const margin = Math.min(500, Math.max(20, Math.round(fetchTimeoutMs / 10)));
  return Math.max(1, fetchTimeoutMs - margin);
}

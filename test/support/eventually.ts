/**
 * Polls `attempt` until `ok` holds of its value or `withinMs` has passed, and returns the last value either way: the
 * caller's assertion on it then says what was seen. For what a process learns asynchronously — the gateway applies
 * control-plane changes within 5 s.
 */
export async function eventually<T>(
  attempt: () => Promise<T>,
  ok: (value: T) => boolean,
  { withinMs = 15_000, everyMs = 200 }: { withinMs?: number; everyMs?: number } = {},
): Promise<T> {
  const until = Date.now() + withinMs;
  for (;;) {
    const value = await attempt();
    if (ok(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

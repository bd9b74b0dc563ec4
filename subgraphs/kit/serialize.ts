/**
 * Runs tasks that share a key one after another within this process.
 *
 * FerretDB v1, the embedded development database, executes every update as a read, a modification in Go and a
 * write back by `_id` (FerretDB internal/handler/msg_findandmodify.go, internal/backends/sqlite UpdateAll), so two
 * concurrent `$inc`s of one document can lose one of them, and a filter guard such as `quantity >= n` is checked
 * against a value that may already be stale. MongoDB applies such an update atomically; this closes the gap for
 * a single process on FerretDB (it cannot for several processes) and costs MongoDB deployments only the
 * serialisation of writes to one key.
 */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    // The task runs whether or not the previous one failed; the continuation keeps the caller's async context.
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

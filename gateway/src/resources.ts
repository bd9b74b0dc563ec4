/**
 * One close stack for what the gateway opens: each resource registers its close as it is opened, and `close` runs
 * them in reverse order, once — on a failed start and on stop alike, so the list is written in one place.
 */
export interface Resources {
  /** Registers `close` for a resource just opened; returns the resource. */
  add<T>(resource: T, close: (resource: T) => unknown): T;
  /** Closes everything registered, last opened first; a failing close does not stop the others. Idempotent. */
  close(): Promise<void>;
}

export function createResources(): Resources {
  const closers: (() => unknown)[] = [];
  let closing: Promise<void> | undefined;
  return {
    add(resource, close) {
      closers.push(() => close(resource));
      return resource;
    },
    close() {
      closing ??= (async () => {
        const errors: unknown[] = [];
        for (const close of closers.reverse()) {
          try {
            await close();
          } catch (error) {
            errors.push(error);
          }
        }
        if (errors.length > 0) throw errors[0];
      })();
      return closing;
    },
  };
}

import type { Logger } from '../../common/logger';

/** Apollo's logger takes one message of any type; ours takes a string and structured fields. */
export function toApolloLogger(logger: Logger) {
  const apollo = logger.child({ component: 'apollo' });
  const text = (message: unknown) => (message instanceof Error ? message.message : String(message));
  return {
    debug: (message?: unknown) => apollo.debug(text(message)),
    info: (message?: unknown) => apollo.info(text(message)),
    warn: (message?: unknown) => apollo.warn(text(message)),
    error: (message?: unknown) => apollo.error(text(message)),
  };
}

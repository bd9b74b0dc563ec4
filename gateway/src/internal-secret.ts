/** The gateway's internal secret (subgraph keys, the audit's redaction key): the environment's, or in development the generated one. */
import { loadOrCreateInternalSecret } from '../../common/dev-secrets';
import type { GatewayConfig } from './config';

export function loadInternalSecret(config: Pick<GatewayConfig, 'internalSecret' | 'production'>): Buffer {
  if (config.internalSecret.source === 'env') return config.internalSecret.secret;
  if (config.production) throw new Error('the development internal secret is refused in production');
  return loadOrCreateInternalSecret();
}

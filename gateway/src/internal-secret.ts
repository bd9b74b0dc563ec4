/** The gateway's internal secret, which every subgraph key is derived from: the environment's, or in development one kept in `.data/secrets`. */
import { loadOrCreateInternalSecret } from '../../common/dev-secrets';
import type { GatewayConfig } from './config';

export function loadInternalSecret(config: GatewayConfig): Buffer {
  if (config.internalSecret.source === 'env') return config.internalSecret.secret;
  if (config.production) throw new Error('the development internal secret is refused in production');
  return loadOrCreateInternalSecret();
}

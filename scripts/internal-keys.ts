/**
 * Prints a fresh gateway internal secret and the per-subgraph keys derived from it, as an env file for
 * docker-compose (`npm run --silent internal-keys > .env`). Each subgraph gets only its own key. Also the
 * encryption master key the seeder, accounts and reviews share.
 */
import { randomBytes } from 'node:crypto';
import { deriveSubgraphKey } from '../common/internal-token';
import { SUBGRAPH_NAMES } from '../subgraphs/catalog';

const secret = process.env.TOLLGATE_INTERNAL_SECRET
  ? Buffer.from(process.env.TOLLGATE_INTERNAL_SECRET, 'hex')
  : randomBytes(32);
const lines = [`TOLLGATE_INTERNAL_SECRET=${secret.toString('hex')}`];
for (const name of SUBGRAPH_NAMES)
  lines.push(`${name.toUpperCase()}_INTERNAL_KEY=${deriveSubgraphKey(secret, name).toString('hex')}`);
// The encryption master key (README: Encryption at rest): kept when given, like the secret, else a fresh one.
lines.push(`ENCRYPTION_MASTER_KEY=${process.env.ENCRYPTION_MASTER_KEY ?? randomBytes(32).toString('hex')}`);
process.stdout.write(lines.join('\n') + '\n');

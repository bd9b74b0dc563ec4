/** `npm run --silent token -- --tenant acme --user admin@acme.test --roles admin` prints a development JWT. */
import { parseArgs } from 'node:util';
import { mintDevToken, parseDevTokenRequest } from './dev-token';

const HELP = `Usage: npm run --silent token -- --tenant <id> --user <email> [--roles admin,staff,customer,developer] [--ttl seconds]

Prints a development JWT for the gateway and nothing else. Refused when NODE_ENV=production.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      user: { type: 'string' },
      roles: { type: 'string' },
      ttl: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  const token = await mintDevToken(parseDevTokenRequest(values));
  process.stdout.write(token + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n${HELP}\n`);
  process.exit(2);
});

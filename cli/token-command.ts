/** `tollgate token`: a development JWT (cli/dev-token.ts mints it; `npm run token` is the same without the CLI). */
import { UsageError, string, type Command } from './command';
import { mintDevToken, parseDevTokenRequest } from './dev-token';

export const TOKEN_COMMANDS: Record<string, Command> = {
  token: {
    usage: 'token --tenant <id> --user <email> [--roles admin,staff,customer,developer] [--ttl <seconds>]',
    summary: 'Prints a development JWT (the development issuer is trusted outside production only).',
    options: { tenant: { type: 'string' }, user: { type: 'string' }, roles: { type: 'string' }, ttl: { type: 'string' } },
    async run({ values, io, print }) {
      let request: ReturnType<typeof parseDevTokenRequest>;
      try {
        request = parseDevTokenRequest({ tenant: string(values, 'tenant'), user: string(values, 'user'), roles: string(values, 'roles'), ttl: string(values, 'ttl') });
      } catch (error) {
        throw new UsageError(error instanceof Error ? error.message : String(error));
      }
      const token = await mintDevToken(request, io.env);
      print({ token }, () => token);
    },
  },
};

/** `tollgate token`: a development JWT (cli/dev-token.ts mints it; `npm run token` is the same without the CLI). */
import { UsageError, string, type Command } from './command';
import { mintDevToken, parseDevTokenRequest } from './dev-token';
import { DEFAULT_ACCOUNTS_DB, tokenSubjectWarnings } from './token-checks';

export const TOKEN_COMMANDS: Record<string, Command> = {
  token: {
    usage: 'token --tenant <id> --user <email> [--roles admin,staff,customer,developer] [--ttl <seconds>]',
    summary: `Prints a development JWT (the development issuer is trusted outside production only). Warns on stderr when the control plane has no such tenant or the accounts database (ACCOUNTS_DB, default ${DEFAULT_ACCOUNTS_DB}) no such user.`,
    options: {
      tenant: { type: 'string' },
      user: { type: 'string' },
      roles: { type: 'string' },
      ttl: { type: 'string' },
    },
    async run({ values, io, print, config }) {
      let request: ReturnType<typeof parseDevTokenRequest>;
      try {
        request = parseDevTokenRequest({
          tenant: string(values, 'tenant'),
          user: string(values, 'user'),
          roles: string(values, 'roles'),
          ttl: string(values, 'ttl'),
        });
      } catch (error) {
        throw new UsageError(error instanceof Error ? error.message : String(error));
      }
      const token = await mintDevToken(request, io.env);
      const accountsDb = io.env.ACCOUNTS_DB?.trim() || DEFAULT_ACCOUNTS_DB;
      for (const warning of await tokenSubjectWarnings(
        { tenant: request.tenant, email: request.email },
        config(),
        accountsDb,
      )) {
        io.stderr(`tollgate: warning: ${warning}\n`);
      }
      print({ token }, () => token);
    },
  },
};

/**
 * The tollgate process: `tollgate …` (bin/tollgate.js, which sets TOLLGATE_PROGRAM) or `npm run --silent tollgate
 * -- …`; the commands themselves are cli/commands.ts's.
 */
import { runTollgate } from './commands';

/** Standard input, whole: `manifest publish -`. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

runTollgate(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  output: process.stdout,
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  stdin: readStdin,
  ...(process.env.TOLLGATE_PROGRAM ? { program: process.env.TOLLGATE_PROGRAM } : {}),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`tollgate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);

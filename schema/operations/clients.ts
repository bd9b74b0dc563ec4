/**
 * The client folders codegen generates for: every directory directly under schema/operations/ that holds at least
 * one `.graphql` file (codegen.ts). A new client is a new folder, with no edit of the codegen configuration; a
 * folder without operations (say, only `generated/` left behind) is skipped rather than failing the whole run.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export function clientFolders(operationsDir: string): string[] {
  return readdirSync(operationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .filter((name) =>
      readdirSync(join(operationsDir, name), { withFileTypes: true }).some(
        (file) => file.isFile() && file.name.endsWith('.graphql'),
      ),
    )
    .sort();
}

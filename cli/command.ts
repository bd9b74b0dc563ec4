/**
 * What every `tollgate` command is made of (commands.ts runs them; tenant.ts, plan.ts, key.ts, manifest.ts and
 * token-command.ts define them, one file per group): the command shape, its context, and the option helpers.
 */
import type { ParseArgsConfig } from 'node:util';
import type { ControlPlane } from '../gateway/src/control-plane/open';
import type { CommonConfig } from '../gateway/src/config-common';

export interface CliIo {
  stdout(text: string): void;
  /**
   * Standard output as a stream, for output larger than memory (`tenant export` without --out): written with
   * backpressure. Absent (tests), such commands write through `stdout`.
   */
  output?: NodeJS.WritableStream;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Standard input, read whole (`manifest publish -`); absent where there is none to read. */
  stdin?: () => Promise<string>;
  /** How the usage text names the command: `tollgate` from the bin (bin/tollgate.js), else the npm script. */
  program?: string;
}

/** The command line itself is wrong: exit code 2, with the command's usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

export interface Context {
  values: Values;
  positionals: string[];
  io: CliIo;
  /** MongoDB, Redis and the supergraph, read from `io.env` and validated as the gateway does (config-common.ts). */
  config(): CommonConfig;
  /** The control plane, opened on first use and closed when the command ends. */
  controlPlane(): Promise<ControlPlane>;
  /**
   * Records a control-plane change in the audit trail of `tenant` (PLATFORM_AUDIT_TENANT for plans), written when
   * the command succeeded, with the operator's identity (cli/audit-record.ts). `details`: ids and settings only.
   */
  audit(tenant: string, details: Record<string, string | number | boolean | string[]>): void;
  /** Prints `value` as JSON with --json, else the human text. */
  print(value: unknown, human: () => string): void;
}

export interface Command {
  usage: string;
  summary: string;
  options?: Options;
  /** Names of the positional arguments, all required. */
  positionals?: string[];
  /** Resolves to the exit code, 0 when it resolves to nothing (`cost` answers 1 for a document over the maximum). */
  run(context: Context): Promise<void | number>;
}

const DURATION = /^(\d+)(s|m|h|d)$/;
const DURATION_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function duration(value: string, option: string): number {
  if (value === '0') return 0;
  const match = DURATION.exec(value);
  if (!match) throw new UsageError(`${option} must be a duration such as 30m, 1h or 90d`);
  return Number(match[1]) * DURATION_MS[match[2]!]!;
}

export function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

export function string(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A flag that replaced `old`: its value under either name, the old one with a warning on stderr that names the new
 * flag (scripts written against the old spelling keep working, and their authors learn the new one). Both names at
 * once is a usage error. `--client` meant the display name in `key create` and the manifest id in `manifest …`; it
 * became `--client-name` and `--manifest` respectively, so one flag means one thing everywhere.
 */
export function renamed(values: Values, io: Pick<CliIo, 'stderr'>, name: string, old: string): string | undefined {
  const current = string(values, name);
  const previous = string(values, old);
  if (previous === undefined) return current;
  if (current !== undefined) throw new UsageError(`give --${name} only (--${old} is its old name here)`);
  io.stderr(`tollgate: warning: --${old} is deprecated here and will be removed; use --${name}\n`);
  return previous;
}

/** `renamed`, required: the message names the new flag. */
export function requiredRenamed(values: Values, io: Pick<CliIo, 'stderr'>, name: string, old: string): string {
  const value = renamed(values, io, name, old);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

export function required(values: Values, name: string): string {
  const value = string(values, name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

/** `value` must be one of `allowed`; the message names the flag and lists them. */
export function oneOf<T extends string>(value: string, allowed: readonly T[], option: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`${option} must be one of ${allowed.join(', ')} (not "${value}")`);
  return value as T;
}

/** A positive integer given as `option`; the message names the flag and the value. */
export function positiveInteger(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${option} must be a positive integer (not "${value}")`);
  return n;
}

/** A positive number given as `option` (a rate). */
export function positiveNumber(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+(?:\.\d+)?$/.test(value) || !(n > 0) || !Number.isFinite(n))
    throw new UsageError(`${option} must be a positive number (not "${value}")`);
  return n;
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export const date = (value: Date | undefined) => (value ? value.toISOString() : '-');

/**
 * What the SageMaker user scripts (deploy, invoke, batch-transform) share: argument checks with
 * messages that name the flag, the `--dry-run` printout, and the one place that turns errors into
 * exit codes (2: bad arguments, 1: the AWS call failed).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in the command line: printed with the usage text, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One API call as `--dry-run` prints it: the SDK command's name without `Command`, and its input. */
export interface ApiRequest {
  readonly command: string;
  readonly input: object;
}

export function formatDryRun(requests: readonly ApiRequest[]): string {
  return JSON.stringify(requests, null, 2);
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, strict, with its errors turned into UsageErrors. */
export function parseFlags<O extends Options>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Names every missing required flag at once, so one run shows all that is left to add. */
export function requireFlags(values: Readonly<Record<string, unknown>>, flags: readonly string[]): void {
  const missing = flags.filter((f) => {
    const v = values[f];
    return v === undefined || (typeof v === 'string' && v.trim() === '');
  });
  if (missing.length) throw new UsageError(`missing ${missing.map((f) => `--${f}`).join(', ')}`);
}

export function required(value: string | undefined, flag: string, what: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`missing ${flag} (${what})`);
  return value.trim();
}

export function integer(value: string | undefined, flag: string, def: number, min: number, max: number): number;
export function integer(value: string | undefined, flag: string, def: undefined, min: number, max: number): number | undefined;
export function integer(value: string | undefined, flag: string, def: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return def;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export function oneOf<T extends string>(value: string | undefined, flag: string, allowed: readonly T[], def: T): T {
  if (value === undefined) return def;
  const hit = allowed.find((a) => a.toLowerCase() === value.trim().toLowerCase());
  if (hit === undefined) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return hit;
}

/** `--env KEY=VALUE`, repeatable; later duplicates win, as in a shell. */
export function envPairs(values: readonly string[] | undefined, flag = '--env'): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of values ?? []) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? '' : pair.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UsageError(`${flag} takes KEY=VALUE with a variable name as KEY, got ${JSON.stringify(pair)}`);
    env[key] = pair.slice(eq + 1);
  }
  return env;
}

/** SageMaker resource names: letters, digits and inner hyphens, 63 characters at most. */
export function resourceName(value: string, flag: string): string {
  if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(value)) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} is not a valid SageMaker name (letters, digits and hyphens, 1 to 63 characters, no leading or trailing hyphen)`);
  }
  return value;
}

export function s3Uri(value: string, flag: string): string {
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(value)) throw new UsageError(`${flag} must be an s3://bucket/key URI, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Runs a script's main: usage mistakes print the message and the usage text and exit 2; anything
 * else (credentials, AWS API errors, a failed waiter) prints its message and exits 1.
 */
export function runCli(usage: string, main: (argv: string[]) => Promise<void>): void {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    return;
  }
  main(argv).then(
    () => {
      process.exitCode = 0;
    },
    (e: unknown) => {
      if (e instanceof UsageError) {
        process.stderr.write(`error: ${e.message}\n\n${usage}`);
        process.exitCode = 2;
        return;
      }
      const err = e as { name?: string; message?: string; $metadata?: { requestId?: string } };
      const id = err.$metadata?.requestId ? ` (request id ${err.$metadata.requestId})` : '';
      process.stderr.write(`error: ${err.name ?? 'Error'}: ${err.message ?? String(e)}${id}\n`);
      process.exitCode = 1;
    },
  );
}

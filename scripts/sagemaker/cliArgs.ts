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
  if (!/^s3:\/\/[^/]+(\/.*)?$/.test(value)) throw new UsageError(`${flag} must be an s3://bucket/key URI, got ${JSON.stringify(value)}`);
  const bucket = value.slice(5).split('/')[0]!;
  const problem = bucketProblem(bucket);
  if (problem) throw new UsageError(`${flag}: bucket ${JSON.stringify(bucket)} ${problem}`);
  return value;
}

/** S3's bucket naming rules (general purpose buckets), as one reason or undefined. */
export function bucketProblem(bucket: string): string | undefined {
  if (bucket.length < 3 || bucket.length > 63) return 'must be 3 to 63 characters long';
  if (/[A-Z_]/.test(bucket)) return 'may not contain capital letters or underscores';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket)) return 'must be lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit';
  if (bucket.includes('..')) return 'may not contain two dots in a row';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return 'may not look like an IP address';
  if (bucket.startsWith('xn--') || bucket.endsWith('-s3alias')) return 'uses a prefix or suffix S3 reserves';
  return undefined;
}

/** SageMaker instance types all start with "ml."; a bare EC2 name is the usual slip. */
export function instanceType(value: string, flag: string): string {
  const v = value.trim();
  if (/^ml\.[a-z0-9-]+\.[a-z0-9]+$/.test(v)) return v;
  const hint = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(v) ? ` (SageMaker instance types start with "ml.": did you mean ml.${v}?)` : ' (e.g. ml.g5.xlarge or ml.c7i.2xlarge)';
  throw new UsageError(`${flag} ${JSON.stringify(value)} is not a SageMaker instance type${hint}`);
}

/** An ECR image URI: ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPOSITORY[:TAG|@sha256:DIGEST]. */
export function ecrImage(value: string, flag: string): { readonly uri: string; readonly region: string } {
  const v = value.trim();
  const m = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9][a-z0-9._/-]*)(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127})|@sha256:[0-9a-f]{64})?$/.exec(v);
  if (!m) {
    throw new UsageError(
      `${flag} ${JSON.stringify(value)} is not an ECR image URI: SageMaker pulls ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG (docs/sagemaker.md shows the docker build and push)`,
    );
  }
  return { uri: v, region: m[2]! };
}

/** A region argument, checked for shape, and against the region the image lives in. */
export function regionFor(region: string | undefined, image: { readonly region: string } | undefined): string | undefined {
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new UsageError(`--region ${JSON.stringify(region)} is not an AWS region name (e.g. us-east-1)`);
  if (region !== undefined && image && image.region !== region) {
    throw new UsageError(`the image is in ${image.region} but --region is ${region}: SageMaker pulls images only from ECR in the endpoint's own region`);
  }
  return region;
}

/** A MIN:MAX or A:B pair of integers. */
export function intPair(value: string, flag: string, what: string, minA: number, maxA: number, minB: number, maxB: number): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(value.trim());
  if (!m) throw new UsageError(`${flag} takes ${what}, got ${JSON.stringify(value)}`);
  const a = integer(m[1], `${flag} (first number)`, 0, minA, maxA);
  const b = integer(m[2], `${flag} (second number)`, 0, minB, maxB);
  return [a, b];
}

/** The AWS SDK's "Region is missing" says nothing about where a region comes from. */
function regionHint(message: string): string {
  return /region is missing/i.test(message) ? `${message}: pass --region us-east-1 (or set AWS_REGION, or region in ~/.aws/config for your profile)` : message;
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
      process.stderr.write(`error: ${err.name ?? 'Error'}: ${regionHint(err.message ?? String(e))}${id}\n`);
      process.exitCode = 1;
    },
  );
}

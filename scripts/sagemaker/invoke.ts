/**
 * Calls a deployed endpoint once (InvokeEndpoint) and prints the response body on stdout.
 * `--dry-run` prints the exact request and sends nothing.
 *
 *   node dist/scripts/sagemaker/invoke.js --endpoint-name bge-reranker \
 *     --query "what is panda?" --text "The giant panda is a bear." --text "Paris is in France." \
 *     --custom-attributes "top_n=1"
 */
import { readFileSync } from 'node:fs';
import { InvokeEndpointCommand, SageMakerRuntimeClient, type InvokeEndpointCommandInput, type SageMakerRuntimeClientConfig } from '@aws-sdk/client-sagemaker-runtime';
import { formatDryRun, parseFlags, required, requireFlags, resourceName, runCli, UsageError, type ApiRequest } from './cliArgs';

export const INVOKE_USAGE = `Usage: node dist/scripts/sagemaker/invoke.js --endpoint-name NAME
         (--query Q --text T [--text T ...] | --body TEXT | --body-file PATH) [options]

  --endpoint-name NAME       the endpoint to call
  --query Q, --text T        build {"query": Q, "texts": [T, ...]} (--text repeatable)
  --body TEXT                the request body as given (JSON, JSON Lines or CSV)
  --body-file PATH           the request body from a file ("-" reads stdin)
  --content-type TYPE        default application/json (also application/jsonlines, text/csv)
  --accept TYPE              response type (default: the server answers in the request's type)
  --custom-attributes S      X-Amzn-SageMaker-Custom-Attributes, e.g. "top_n=5;raw_scores=true"
  --target-variant NAME      production variant to call
  --inference-id ID          X-Amzn-SageMaker-Inference-Id, shown in the container's log line
  --region REGION            AWS region (default: the SDK's usual lookup)
  --endpoint-url URL         send to this URL instead of SageMaker, e.g. a local container:
                             --endpoint-url http://127.0.0.1:8080 (the server answers SageMaker
                             Runtime's POST /endpoints/NAME/invocations); for http://localhost and
                             127.0.0.1 no AWS credentials are needed
  --dry-run                  print the request as JSON and send nothing
`;

/** InvokeEndpoint's request limit for real-time endpoints (serverless: 4 MB). */
export const MAX_INVOKE_BYTES = 6 * 1024 * 1024;

export interface InvokeOptions {
  readonly endpointName: string;
  /** The body text; see invokeBody() for the --query/--text shorthand. */
  readonly body: string;
  readonly contentType?: string | undefined;
  readonly accept?: string | undefined;
  readonly customAttributes?: string | undefined;
  readonly targetVariant?: string | undefined;
  readonly inferenceId?: string | undefined;
}

/** The request as sent, except that Body stays a string (the SDK takes strings as UTF-8). */
export type InvokeRequest = InvokeEndpointCommandInput & { Body: string };

export function invokeBody(query: string, texts: readonly string[]): string {
  if (texts.length === 0) throw new UsageError('--query needs at least one --text');
  return JSON.stringify({ query, texts });
}

export function buildInvokeRequest(o: InvokeOptions): InvokeRequest {
  resourceName(o.endpointName, '--endpoint-name');
  if (o.body.trim() === '') throw new UsageError('the request body is empty');
  const bytes = Buffer.byteLength(o.body, 'utf8');
  if (bytes > MAX_INVOKE_BYTES) throw new UsageError(`the body is ${bytes} bytes; InvokeEndpoint accepts at most ${MAX_INVOKE_BYTES} (use batch-transform for larger inputs)`);
  if (o.customAttributes !== undefined && o.customAttributes.length > 1024) throw new UsageError('--custom-attributes is limited to 1024 characters');
  return {
    EndpointName: o.endpointName,
    ContentType: o.contentType ?? 'application/json',
    ...(o.accept ? { Accept: o.accept } : {}),
    ...(o.customAttributes ? { CustomAttributes: o.customAttributes } : {}),
    ...(o.targetVariant ? { TargetVariant: o.targetVariant } : {}),
    ...(o.inferenceId ? { InferenceId: o.inferenceId } : {}),
    Body: o.body,
  };
}

export interface InvokeCli {
  readonly options: InvokeOptions;
  readonly region: string | undefined;
  readonly endpointUrl?: string | undefined;
  readonly dryRun: boolean;
}

export function parseInvokeArgs(argv: readonly string[], readFile: (path: string) => string = readBodyFile): InvokeCli {
  const v = parseFlags(argv, {
    'endpoint-name': { type: 'string' },
    query: { type: 'string' },
    text: { type: 'string', multiple: true },
    body: { type: 'string' },
    'body-file': { type: 'string' },
    'content-type': { type: 'string' },
    accept: { type: 'string' },
    'custom-attributes': { type: 'string' },
    'target-variant': { type: 'string' },
    'inference-id': { type: 'string' },
    region: { type: 'string' },
    'endpoint-url': { type: 'string' },
    'dry-run': { type: 'boolean' },
  });
  requireFlags(v, ['endpoint-name']);
  const endpointUrl = v['endpoint-url'];
  if (endpointUrl !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(endpointUrl)) throw new UsageError(`--endpoint-url must be http(s)://host[:port], got ${JSON.stringify(endpointUrl)}`);
  const sources = [v.query !== undefined, v.body !== undefined, v['body-file'] !== undefined].filter(Boolean).length;
  if (sources === 0) throw new UsageError('missing the request: give --query with --text, --body, or --body-file');
  if (sources > 1) throw new UsageError('--query/--text, --body and --body-file exclude each other');
  if (v.text !== undefined && v.query === undefined) throw new UsageError('--text needs --query');
  const body = v.query !== undefined ? invokeBody(v.query, v.text ?? []) : (v.body ?? readFile(v['body-file']!));
  return {
    options: {
      endpointName: required(v['endpoint-name'], '--endpoint-name', 'the endpoint to call'),
      body,
      contentType: v['content-type'],
      accept: v.accept,
      customAttributes: v['custom-attributes'],
      targetVariant: v['target-variant'],
      inferenceId: v['inference-id'],
    },
    region: v.region,
    endpointUrl,
    dryRun: v['dry-run'] ?? false,
  };
}

/** A server on this machine: nothing to sign for, so any region and fixed dummy credentials do. */
export function isLocalUrl(url: string): boolean {
  return /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\/?$/.test(url);
}

/** The runtime client's settings: the SDK's usual lookups, or a local server with no AWS account. */
export function runtimeClientConfig(cli: Pick<InvokeCli, 'region' | 'endpointUrl'>): SageMakerRuntimeClientConfig {
  const local = cli.endpointUrl !== undefined && isLocalUrl(cli.endpointUrl);
  return {
    ...(cli.region ? { region: cli.region } : local ? { region: 'us-east-1' } : {}),
    ...(cli.endpointUrl ? { endpoint: cli.endpointUrl } : {}),
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  };
}

function readBodyFile(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --body-file ${path}: ${(e as Error).message}`);
  }
}

export async function invoke(argv: readonly string[]): Promise<void> {
  const cli = parseInvokeArgs(argv);
  const request = buildInvokeRequest(cli.options);
  if (cli.dryRun) {
    const list: ApiRequest[] = [{ command: 'InvokeEndpoint', input: request }];
    process.stdout.write(`${formatDryRun(list)}\n`);
    return;
  }
  const client = new SageMakerRuntimeClient(runtimeClientConfig(cli));
  const out = await client.send(new InvokeEndpointCommand(request));
  const text = out.Body ? Buffer.from(out.Body).toString('utf8') : '';
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  if (out.CustomAttributes) process.stderr.write(`custom-attributes: ${out.CustomAttributes}\n`);
}

if (require.main === module) runCli(INVOKE_USAGE, invoke);

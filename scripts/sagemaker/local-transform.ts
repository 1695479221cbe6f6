/**
 * A batch transform job run locally, with no Docker and no SageMaker: what SageMaker does with
 * running containers, done by this script against servers you started (`make serve`, or
 * `node dist/src/cli.js serve` with SAGEMAKER_BATCH=true), so a job can be tried on a sample first.
 *
 * Lists the S3 input prefix, gives each object to one container (object i to container i mod N,
 * as SageMaker spreads whole objects over instances), splits each object into records (SplitType
 * Line), applies InputFilter, packs MultiRecord mini-batches under MaxPayloadInMB, keeps
 * MaxConcurrentTransforms requests in flight per container (defaults from the first container's
 * GET /execution-parameters), joins answers to inputs (JoinSource=Input) with OutputFilter, and
 * writes OUTPUT/<key relative to the input prefix>.out. No retries: the first failed request fails
 * the job, naming the object and the container's answer.
 *
 *   node dist/scripts/sagemaker/local-transform.js --input s3://bucket/batch/in/ \
 *     --output s3://bucket/batch/out/ --endpoint http://127.0.0.1:8080 --endpoint http://127.0.0.1:8081
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { integer, oneOf, parseFlags, requireFlags, runCli, s3Uri, UsageError } from './cliArgs';
import { fetchExecutionParameters } from './batch-transform';
import { compileJsonPath, filterRecord, joinRecord, miniBatches, responseLines, splitRecords } from './transformRecords';

export const LOCAL_TRANSFORM_USAGE = `Usage: node dist/scripts/sagemaker/local-transform.js --input S3URI --output S3URI
         --endpoint URL [--endpoint URL ...] [options]

  --input S3URI                 input prefix: every object under it is one input file
  --output S3URI                output prefix: each input object gives OBJECT.out there
  --endpoint URL                a running container (http://127.0.0.1:8080), repeatable: one per
                                "instance"; objects are spread over them by key
  --content-type TYPE           application/jsonlines (default), application/json (read as JSON
                                Lines, as SageMaker does with SplitType Line) or text/csv
  --accept TYPE                 Accept header (default: the content type)
  --max-payload-mb N            MaxPayloadInMB (default: the container's /execution-parameters, 6)
  --max-concurrent-transforms N requests in flight per container (default: the same, 1)
  --batch-strategy S            MultiRecord or SingleRecord (default: the same, MultiRecord)
  --input-filter JSONPATH       e.g. '$["query","texts"]' (JSON records only)
  --join-source Input|None      Input: each output line is its input record plus "SageMakerOutput"
  --output-filter JSONPATH      e.g. '$["id","SageMakerOutput"]'
  --s3-endpoint-url URL         an S3-compatible server instead of AWS (path-style addressing)
  --dry-run                     read the input and /execution-parameters, print the plan (which
                                object goes to which container, the mini-batches and their sizes,
                                the output keys) and send no request and write nothing
  --region REGION               AWS region for S3 (default: the SDK's lookup; us-east-1 with
                                --s3-endpoint-url)
`;

export interface LocalTransformOptions {
  readonly input: string;
  readonly output: string;
  readonly endpoints: readonly string[];
  readonly contentType: string;
  readonly accept: string | undefined;
  readonly maxPayloadMb: number | undefined;
  readonly maxConcurrentTransforms: number | undefined;
  readonly batchStrategy: 'MultiRecord' | 'SingleRecord' | undefined;
  readonly inputFilter: string | undefined;
  readonly joinSource: 'Input' | 'None';
  readonly outputFilter: string | undefined;
  readonly s3EndpointUrl: string | undefined;
  readonly region: string | undefined;
  readonly dryRun?: boolean | undefined;
}

export function parseLocalTransformArgs(argv: readonly string[]): LocalTransformOptions {
  const v = parseFlags(argv, {
    input: { type: 'string' },
    output: { type: 'string' },
    endpoint: { type: 'string', multiple: true },
    'content-type': { type: 'string' },
    accept: { type: 'string' },
    'max-payload-mb': { type: 'string' },
    'max-concurrent-transforms': { type: 'string' },
    'batch-strategy': { type: 'string' },
    'input-filter': { type: 'string' },
    'join-source': { type: 'string' },
    'output-filter': { type: 'string' },
    's3-endpoint-url': { type: 'string' },
    'dry-run': { type: 'boolean' },
    region: { type: 'string' },
  });
  requireFlags(v, ['input', 'output', 'endpoint']);
  for (const e of v.endpoint ?? []) if (!/^https?:\/\/[^/\s]+\/?$/.test(e)) throw new UsageError(`--endpoint must be http(s)://host:port, got ${JSON.stringify(e)}`);
  const contentType = oneOf(v['content-type'], '--content-type', ['application/jsonlines', 'application/json', 'text/csv'] as const, 'application/jsonlines');
  const o: LocalTransformOptions = {
    input: s3Uri(v.input!, '--input'),
    output: s3Uri(v.output!, '--output'),
    endpoints: (v.endpoint ?? []).map((e) => e.replace(/\/+$/, '')),
    contentType,
    accept: v.accept,
    maxPayloadMb: integer(v['max-payload-mb'], '--max-payload-mb', undefined, 0, 100),
    maxConcurrentTransforms: integer(v['max-concurrent-transforms'], '--max-concurrent-transforms', undefined, 1, 100),
    batchStrategy: v['batch-strategy'] === undefined ? undefined : oneOf(v['batch-strategy'], '--batch-strategy', ['MultiRecord', 'SingleRecord'] as const, 'MultiRecord'),
    inputFilter: v['input-filter'],
    joinSource: oneOf(v['join-source'], '--join-source', ['Input', 'None'] as const, 'None'),
    outputFilter: v['output-filter'],
    s3EndpointUrl: v['s3-endpoint-url'],
    region: v.region,
    dryRun: v['dry-run'] ?? false,
  };
  if (contentType === 'text/csv' && (o.inputFilter || o.outputFilter)) throw new UsageError('--input-filter and --output-filter need JSON records here; CSV supports --join-source Input only');
  if (o.inputFilter) compileJsonPath(o.inputFilter, '--input-filter');
  if (o.outputFilter) compileJsonPath(o.outputFilter, '--output-filter');
  return o;
}

const split = (uri: string): { bucket: string; key: string } => {
  const rest = uri.slice(5);
  const slash = rest.indexOf('/');
  return slash < 0 ? { bucket: rest, key: '' } : { bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
};

export interface LocalTransformSummary {
  readonly objects: number;
  readonly records: number;
  readonly requests: number;
  readonly maxPayloadMb: number;
  readonly maxConcurrentTransforms: number;
  readonly batchStrategy: string;
  readonly perEndpoint: Record<string, { objects: number; requests: number; records: number; largestRequestBytes: number }>;
  /** With --dry-run: per object, its container, the mini-batches' record counts and bytes, the output. */
  readonly plan?: Array<{ input: string; endpoint: string; miniBatches: Array<{ records: number; bytes: number }>; output: string }>;
  readonly outputs: string[];
}

/** Runs tasks with at most `limit` in flight; the first failure rejects. */
async function pool<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

export async function runLocalTransform(o: LocalTransformOptions, s3: S3Client): Promise<LocalTransformSummary> {
  const params = await fetchExecutionParameters(o.endpoints[0]!).catch(() => ({}) as Awaited<ReturnType<typeof fetchExecutionParameters>>);
  const maxPayloadMb = o.maxPayloadMb ?? params.MaxPayloadInMB ?? 6;
  const concurrency = o.maxConcurrentTransforms ?? params.MaxConcurrentTransforms ?? 1;
  const multiRecord = (o.batchStrategy ?? (/single/i.test(params.BatchStrategy ?? '') ? 'SingleRecord' : 'MultiRecord')) === 'MultiRecord';
  const inputFilter = o.inputFilter ? compileJsonPath(o.inputFilter, '--input-filter') : undefined;
  const outputFilter = o.outputFilter ? compileJsonPath(o.outputFilter, '--output-filter') : undefined;
  const csv = o.contentType === 'text/csv';

  const input = split(o.input);
  const output = split(o.output);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: input.bucket, Prefix: input.key, ContinuationToken: token }));
    for (const c of page.Contents ?? []) if (c.Key && !c.Key.endsWith('/')) keys.push(c.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  keys.sort();
  if (keys.length === 0) throw new Error(`no objects under ${o.input}`);

  const perEndpoint: LocalTransformSummary['perEndpoint'] = Object.fromEntries(o.endpoints.map((e) => [e, { objects: 0, requests: 0, records: 0, largestRequestBytes: 0 }]));
  let records = 0;
  let requests = 0;
  const outputs: string[] = [];
  const plan: NonNullable<LocalTransformSummary['plan']> = [];
  const perInstance = o.endpoints.map((endpoint, n) => async (): Promise<void> => {
    const stats = perEndpoint[endpoint]!;
    for (const key of keys.filter((_, i) => i % o.endpoints.length === n)) {
      const where = `s3://${input.bucket}/${key}`;
      const body = await (await s3.send(new GetObjectCommand({ Bucket: input.bucket, Key: key }))).Body!.transformToString('utf8');
      const raw = splitRecords(body);
      const sent = raw.map((r) => (csv ? r : filterRecord(r, inputFilter, where)));
      const batches = miniBatches(sent, maxPayloadMb * 1024 * 1024, multiRecord, where);
      const rel = key.slice(input.key.length).replace(/^\/+/, '');
      const outKey = `${output.key}${output.key && !output.key.endsWith('/') ? '/' : ''}${rel}.out`;
      stats.objects++;
      stats.requests += batches.length;
      stats.records += raw.length;
      records += raw.length;
      requests += batches.length;
      outputs.push(`s3://${output.bucket}/${outKey}`);
      if (o.dryRun) {
        const sizes = batches.map((idx) => ({ records: idx.length, bytes: idx.reduce((n, i) => n + Buffer.byteLength(sent[i]!), idx.length - 1) }));
        stats.largestRequestBytes = Math.max(stats.largestRequestBytes, ...sizes.map((b) => b.bytes));
        plan.push({ input: where, endpoint, miniBatches: sizes, output: `s3://${output.bucket}/${outKey}` });
        continue;
      }
      const answers = await pool(
        batches.map((idx) => async () => {
          const payload = idx.map((i) => sent[i]!).join('\n');
          stats.largestRequestBytes = Math.max(stats.largestRequestBytes, Buffer.byteLength(payload));
          const r = await fetch(`${endpoint}/invocations`, { method: 'POST', headers: { 'content-type': o.contentType, accept: o.accept ?? o.contentType }, body: payload });
          const text = await r.text();
          if (!r.ok) throw new Error(`${where}: ${endpoint}/invocations answered ${r.status}: ${text.slice(0, 300)}`);
          return responseLines(text, idx.length, where);
        }),
        concurrency,
      );
      const lines = answers.flat().map((out, i) => (csv ? (o.joinSource === 'Input' ? `${raw[i]},${out}` : out) : joinRecord(raw[i]!, out, o.joinSource === 'Input', outputFilter)));
      await s3.send(new PutObjectCommand({ Bucket: output.bucket, Key: outKey, Body: `${lines.join('\n')}\n`, ContentType: o.accept ?? o.contentType }));
    }
  });
  await Promise.all(perInstance.map((run) => run()));
  plan.sort((a, b) => a.input.localeCompare(b.input));
  return {
    objects: keys.length,
    records,
    requests,
    maxPayloadMb,
    maxConcurrentTransforms: concurrency,
    batchStrategy: multiRecord ? 'MultiRecord' : 'SingleRecord',
    perEndpoint,
    outputs: outputs.sort(),
    ...(o.dryRun ? { plan } : {}),
  };
}

export async function localTransform(argv: readonly string[]): Promise<void> {
  const o = parseLocalTransformArgs(argv);
  const s3 = new S3Client({
    ...(o.region ? { region: o.region } : o.s3EndpointUrl ? { region: 'us-east-1' } : {}),
    ...(o.s3EndpointUrl ? { endpoint: o.s3EndpointUrl, forcePathStyle: true } : {}),
    // Plain PUTs without aws-chunked framing, which S3-compatible test servers may store verbatim.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const summary = await runLocalTransform(o, s3);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

if (require.main === module) runCli(LOCAL_TRANSFORM_USAGE, localTransform);

/**
 * Starts a batch transform job over an S3 prefix of JSON Lines or CSV files with the settings the
 * container is built for: SplitType Line, BatchStrategy MultiRecord, AssembleWith Line, so each
 * output file has one line per input line, in order. `--dry-run` prints the exact request.
 *
 *   node dist/scripts/sagemaker/batch-transform.js --job-name rerank-2025-01-31 \
 *     --model-name bge-reranker-20250131-120000 --instance-type ml.g5.xlarge \
 *     --input s3://my-bucket/batch/in/ --output s3://my-bucket/batch/out/
 */
import {
  CreateTransformJobCommand,
  DescribeTransformJobCommand,
  SageMakerClient,
  waitUntilTransformJobCompletedOrStopped,
  type CreateTransformJobCommandInput,
  type TransformResources,
} from '@aws-sdk/client-sagemaker';
import { envPairs, formatDryRun, instanceType, integer, oneOf, parseFlags, required, requireFlags, resourceName, runCli, s3Uri, UsageError } from './cliArgs';

export const BATCH_USAGE = `Usage: node dist/scripts/sagemaker/batch-transform.js --job-name NAME --model-name NAME
         --instance-type TYPE --input S3URI --output S3URI [options]

  --job-name NAME               transform job name (unique in the account and region)
  --model-name NAME             an existing SageMaker model (deploy.js prints the one it creates)
  --instance-type TYPE          e.g. ml.g5.xlarge (GPU image), ml.c7i.2xlarge (CPU image)
  --instance-count N            default 1
  --input S3URI                 input prefix (every object under it) or manifest file
  --input-type TYPE             S3Prefix (default) or ManifestFile
  --output S3URI                output prefix; each input object gives OBJECT.out there
  --content-type TYPE           application/jsonlines (default) or text/csv
  --accept TYPE                 output type (default: the content type)
  --compression TYPE            None (default) or Gzip for gzipped input objects
  --max-payload-mb N            MaxPayloadInMB, 0-100 (default 6; 0 = unlimited, sent chunked)
  --max-concurrent-transforms N requests in flight per instance (default: the container's
                                GET /execution-parameters answer)
  --batch-strategy S            MultiRecord (default) or SingleRecord
  --execution-parameters URL    fill --max-concurrent-transforms, --max-payload-mb and
                                --batch-strategy (where not given) from a running container's
                                GET URL/execution-parameters, as SageMaker itself does
  --input-filter JSONPATH       DataProcessing.InputFilter: the part of each record sent to the
                                container, e.g. '$["query","texts"]' (drops an "id" field)
  --join-source Input|None      DataProcessing.JoinSource: Input adds each answer to its input
                                record as "SageMakerOutput", so ids travel with scores
  --output-filter JSONPATH      DataProcessing.OutputFilter, e.g. '$["id","SageMakerOutput"]'
  --invocations-timeout S       ModelClientConfig.InvocationsTimeoutInSeconds, 1-3600 (default 600);
                                the container's REQUEST_TIMEOUT is set 5 s below it unless --env sets it
  --invocations-max-retries N   ModelClientConfig.InvocationsMaxRetries, 0-3 (default: SageMaker's, 3)
  --env KEY=VALUE               container environment for this job, repeatable
  --transform-ami-version V     e.g. al2-ami-sagemaker-batch-gpu-535
  --region REGION               AWS region (default: the SDK's usual lookup)
  --wait                        wait for Completed (or Failed/Stopped) and report it
  --wait-timeout S              how long to wait (default 86400)
  --dry-run                     print the request as JSON and send nothing
`;

export interface BatchTransformOptions {
  readonly jobName: string;
  readonly modelName: string;
  readonly instanceType: string;
  readonly instanceCount?: number | undefined;
  readonly input: string;
  readonly inputType?: 'S3Prefix' | 'ManifestFile' | undefined;
  readonly output: string;
  readonly contentType?: string | undefined;
  readonly accept?: string | undefined;
  readonly compression?: 'None' | 'Gzip' | undefined;
  readonly maxPayloadMb?: number | undefined;
  readonly maxConcurrentTransforms?: number | undefined;
  readonly batchStrategy?: 'MultiRecord' | 'SingleRecord' | undefined;
  readonly invocationsTimeoutSeconds?: number | undefined;
  readonly invocationsMaxRetries?: number | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly transformAmiVersion?: string | undefined;
  readonly inputFilter?: string | undefined;
  readonly joinSource?: 'Input' | 'None' | undefined;
  readonly outputFilter?: string | undefined;
}

/** SageMaker's own bound: MaxConcurrentTransforms x MaxPayloadInMB may not exceed 100. */
const PAYLOAD_BUDGET_MB = 100;

export function buildBatchTransformRequest(o: BatchTransformOptions): CreateTransformJobCommandInput {
  resourceName(o.jobName, '--job-name');
  resourceName(o.modelName, '--model-name');
  instanceType(o.instanceType, '--instance-type');
  for (const [flag, f] of [['--input-filter', o.inputFilter], ['--output-filter', o.outputFilter]] as const) {
    if (f !== undefined && !f.startsWith('$')) throw new UsageError(`${flag} must be a JSONPath starting with $, got ${JSON.stringify(f)}`);
  }
  s3Uri(o.input, '--input');
  s3Uri(o.output, '--output');
  const payload = o.maxPayloadMb ?? 6;
  if (!Number.isInteger(payload) || payload < 0 || payload > PAYLOAD_BUDGET_MB) throw new UsageError(`--max-payload-mb must be an integer from 0 to ${PAYLOAD_BUDGET_MB}, got ${payload}`);
  if (o.maxConcurrentTransforms !== undefined && o.maxConcurrentTransforms * payload > PAYLOAD_BUDGET_MB) {
    throw new UsageError(`--max-concurrent-transforms x --max-payload-mb must be at most ${PAYLOAD_BUDGET_MB} (got ${o.maxConcurrentTransforms} x ${payload})`);
  }
  const contentType = o.contentType ?? 'application/jsonlines';
  const timeout = o.invocationsTimeoutSeconds ?? 600;
  // The server's own deadline (REQUEST_TIMEOUT, default 55 s, sized for real-time calls) would cut a
  // large MultiRecord payload short; answer just before SageMaker gives up instead.
  const env: Record<string, string> = { REQUEST_TIMEOUT: String(Math.max(1, timeout - 5)), ...(o.env ?? {}) };
  const resources: TransformResources = {
    InstanceType: o.instanceType as TransformResources['InstanceType'],
    InstanceCount: o.instanceCount ?? 1,
    ...(o.transformAmiVersion ? { TransformAmiVersion: o.transformAmiVersion } : {}),
  };
  return {
    TransformJobName: o.jobName,
    ModelName: o.modelName,
    BatchStrategy: o.batchStrategy ?? 'MultiRecord',
    MaxPayloadInMB: payload,
    ...(o.maxConcurrentTransforms !== undefined ? { MaxConcurrentTransforms: o.maxConcurrentTransforms } : {}),
    ModelClientConfig: {
      InvocationsTimeoutInSeconds: timeout,
      ...(o.invocationsMaxRetries !== undefined ? { InvocationsMaxRetries: o.invocationsMaxRetries } : {}),
    },
    Environment: env,
    TransformInput: {
      DataSource: { S3DataSource: { S3DataType: o.inputType ?? 'S3Prefix', S3Uri: o.input } },
      ContentType: contentType,
      CompressionType: o.compression ?? 'None',
      SplitType: 'Line',
    },
    TransformOutput: {
      S3OutputPath: o.output,
      Accept: o.accept ?? contentType,
      AssembleWith: 'Line',
    },
    TransformResources: resources,
    ...(o.inputFilter !== undefined || o.joinSource !== undefined || o.outputFilter !== undefined
      ? {
          DataProcessing: {
            ...(o.inputFilter !== undefined ? { InputFilter: o.inputFilter } : {}),
            ...(o.joinSource !== undefined ? { JoinSource: o.joinSource } : {}),
            ...(o.outputFilter !== undefined ? { OutputFilter: o.outputFilter } : {}),
          },
        }
      : {}),
  };
}

export interface BatchCli {
  readonly options: BatchTransformOptions;
  readonly executionParametersUrl?: string | undefined;
  readonly region: string | undefined;
  readonly dryRun: boolean;
  readonly wait: boolean;
  readonly waitTimeoutSeconds: number;
}

export function parseBatchTransformArgs(argv: readonly string[]): BatchCli {
  const v = parseFlags(argv, {
    'job-name': { type: 'string' },
    'model-name': { type: 'string' },
    'instance-type': { type: 'string' },
    'instance-count': { type: 'string' },
    input: { type: 'string' },
    'input-type': { type: 'string' },
    output: { type: 'string' },
    'content-type': { type: 'string' },
    accept: { type: 'string' },
    compression: { type: 'string' },
    'max-payload-mb': { type: 'string' },
    'max-concurrent-transforms': { type: 'string' },
    'batch-strategy': { type: 'string' },
    'invocations-timeout': { type: 'string' },
    'invocations-max-retries': { type: 'string' },
    env: { type: 'string', multiple: true },
    'transform-ami-version': { type: 'string' },
    'execution-parameters': { type: 'string' },
    'input-filter': { type: 'string' },
    'join-source': { type: 'string' },
    'output-filter': { type: 'string' },
    region: { type: 'string' },
    wait: { type: 'boolean' },
    'wait-timeout': { type: 'string' },
    'dry-run': { type: 'boolean' },
  });
  requireFlags(v, ['job-name', 'model-name', 'instance-type', 'input', 'output']);
  return {
    options: {
      jobName: required(v['job-name'], '--job-name', 'the transform job name'),
      modelName: required(v['model-name'], '--model-name', 'an existing SageMaker model'),
      instanceType: required(v['instance-type'], '--instance-type', 'e.g. ml.g5.xlarge'),
      instanceCount: integer(v['instance-count'], '--instance-count', 1, 1, 1000),
      input: required(v.input, '--input', 'the S3 input prefix'),
      inputType: oneOf(v['input-type'], '--input-type', ['S3Prefix', 'ManifestFile'] as const, 'S3Prefix'),
      output: required(v.output, '--output', 'the S3 output prefix'),
      contentType: v['content-type'],
      accept: v.accept,
      compression: oneOf(v.compression, '--compression', ['None', 'Gzip'] as const, 'None'),
      maxPayloadMb: integer(v['max-payload-mb'], '--max-payload-mb', 6, 0, PAYLOAD_BUDGET_MB),
      maxConcurrentTransforms: integer(v['max-concurrent-transforms'], '--max-concurrent-transforms', undefined, 1, PAYLOAD_BUDGET_MB),
      batchStrategy: oneOf(v['batch-strategy'], '--batch-strategy', ['MultiRecord', 'SingleRecord'] as const, 'MultiRecord'),
      invocationsTimeoutSeconds: integer(v['invocations-timeout'], '--invocations-timeout', 600, 1, 3600),
      invocationsMaxRetries: integer(v['invocations-max-retries'], '--invocations-max-retries', undefined, 0, 3),
      env: envPairs(v.env),
      transformAmiVersion: v['transform-ami-version'],
      inputFilter: v['input-filter'],
      joinSource: v['join-source'] === undefined ? undefined : oneOf(v['join-source'], '--join-source', ['Input', 'None'] as const, 'None'),
      outputFilter: v['output-filter'],
    },
    executionParametersUrl: v['execution-parameters'],
    region: v.region,
    dryRun: v['dry-run'] ?? false,
    wait: v.wait ?? false,
    waitTimeoutSeconds: integer(v['wait-timeout'], '--wait-timeout', 86400, 60, 30 * 86400),
  };
}

/** What a container's GET /execution-parameters says, in the job's terms. */
export interface ExecutionParameters {
  readonly MaxConcurrentTransforms?: number;
  readonly BatchStrategy?: string;
  readonly MaxPayloadInMB?: number;
}

/** Flags the user gave win; the container's answer fills the rest (SageMaker's own order). */
export function withExecutionParameters(o: BatchTransformOptions, given: ReadonlySet<string>, p: ExecutionParameters): BatchTransformOptions {
  const strategy = p.BatchStrategy?.replace(/[_-]/g, '').toLowerCase();
  return {
    ...o,
    ...(!given.has('max-concurrent-transforms') && p.MaxConcurrentTransforms !== undefined ? { maxConcurrentTransforms: p.MaxConcurrentTransforms } : {}),
    ...(!given.has('max-payload-mb') && p.MaxPayloadInMB !== undefined ? { maxPayloadMb: p.MaxPayloadInMB } : {}),
    ...(!given.has('batch-strategy') && (strategy === 'multirecord' || strategy === 'singlerecord') ? { batchStrategy: strategy === 'multirecord' ? 'MultiRecord' : 'SingleRecord' } : {}),
  };
}

export async function fetchExecutionParameters(url: string): Promise<ExecutionParameters> {
  const r = await fetch(`${url.replace(/\/+$/, '')}/execution-parameters`);
  if (!r.ok) throw new Error(`GET ${url}/execution-parameters answered ${r.status}`);
  return (await r.json()) as ExecutionParameters;
}

export async function batchTransform(argv: readonly string[]): Promise<void> {
  const cli = parseBatchTransformArgs(argv);
  const given = new Set(argv.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]!));
  const options = cli.executionParametersUrl ? withExecutionParameters(cli.options, given, await fetchExecutionParameters(cli.executionParametersUrl)) : cli.options;
  const request = buildBatchTransformRequest(options);
  if (cli.dryRun) {
    process.stdout.write(`${formatDryRun([{ command: 'CreateTransformJob', input: request }])}\n`);
    return;
  }
  const client = new SageMakerClient(cli.region ? { region: cli.region } : {});
  const out = await client.send(new CreateTransformJobCommand(request));
  process.stderr.write(`started transform job ${request.TransformJobName}: ${out.TransformJobArn}\n`);
  if (!cli.wait) return;
  const name = request.TransformJobName!;
  await waitUntilTransformJobCompletedOrStopped({ client, maxWaitTime: cli.waitTimeoutSeconds, minDelay: 30, maxDelay: 120 }, { TransformJobName: name }).catch(() => undefined);
  // The waiter stops on Failed too; the job's own status and reason are the answer either way.
  const d = await client.send(new DescribeTransformJobCommand({ TransformJobName: name }));
  process.stdout.write(`${JSON.stringify({ TransformJobName: name, TransformJobStatus: d.TransformJobStatus, FailureReason: d.FailureReason, S3OutputPath: request.TransformOutput?.S3OutputPath })}\n`);
  if (d.TransformJobStatus !== 'Completed') {
    throw new Error(`transform job ${name} is ${d.TransformJobStatus}${d.FailureReason ? `: ${d.FailureReason}` : ''} (CloudWatch log group /aws/sagemaker/TransformJobs)`);
  }
}

if (require.main === module) runCli(BATCH_USAGE, batchTransform);

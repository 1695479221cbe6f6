/**
 * deploy.js's command line: the usage text and the parsing of flags into DeployOptions, with the
 * checks that need only the flags (pairs like MIN:MAX, flags that belong together).
 */
import type { AutoscaleOptions, ScaleOn } from './autoscaling';
import { ecrImage, envPairs, integer, intPair, oneOf, parseFlags, regionFor, required, requireFlags, UsageError } from './cliArgs';
import type { DeployOptions } from './deploy';

export const DEPLOY_USAGE = `Usage: node dist/scripts/sagemaker/deploy.js --name NAME --image URI --role ARN
         (--instance-type TYPE | --serverless MB:N) [options]

  --name NAME                  base name: model NAME-VERSION, endpoint config NAME-VERSION-config,
                               endpoint NAME (or --endpoint-name)
  --image URI                  the container image in ECR (container/Dockerfile or Dockerfile.cpu)
  --role ARN                   execution role SageMaker assumes (ECR pull, S3 read of the model)
  --model-data S3URI           model files: s3://.../model.tar.gz (extracted to /opt/ml/model) or an
                               uncompressed prefix s3://.../prefix/ (S3Prefix, CompressionType None).
                               Without it, pass --env MODEL_URI=s3://... (the container downloads
                               the model itself) or the image serves its embedded demo model.
  --env KEY=VALUE              container environment, repeatable (docs/sagemaker.md lists the keys)
  --instance-type TYPE         e.g. ml.g5.xlarge (GPU image), ml.c7i.2xlarge (CPU image)
  --instance-count N           initial instances (default 1; with --autoscale: MIN, or 1 when MIN is 0)
  --autoscale MIN:MAX          after InService, register the variant with Application Auto Scaling
                               and put a target-tracking policy (MIN 0 only with --async)
  --scale-on METRIC            invocations (SageMakerVariantInvocationsPerInstance, default) or
                               queue (the container's EMF metric QueuedPairs, average per instance)
  --target N                   the policy's target: invocations per instance per minute, or queued
                               pairs per instance (docs/operations.md sizes both)
  --scale-in-cooldown S        default 300
  --scale-out-cooldown S       default 60
  --startup-timeout S          ContainerStartupHealthCheckTimeoutInSeconds, 60-3600 (default 600)
  --download-timeout S         ModelDataDownloadTimeoutInSeconds, 60-3600 (default 1200)
  --volume-size GB             VolumeSizeInGB (only for instance types without local NVMe storage)
  --inference-ami-version V    e.g. al2-ami-sagemaker-inference-gpu-3-1 (NVIDIA driver 550)
  --serverless MB:N            serverless endpoint instead of instances: memory 1024-6144 in steps
                               of 1024, MaxConcurrency 1-200 (e.g. --serverless 6144:10)
  --serverless-memory MB       the same in two flags (--serverless-concurrency N, default 5)
  --async S3URI                asynchronous endpoint: results go to S3URI (AsyncInferenceConfig);
                               sets REQUEST_TIMEOUT=3595 and MAX_PAYLOAD_MB=100 unless --env does
  --async-failure S3URI        where failed async requests' errors go (S3FailurePath)
  --async-max-concurrency N    MaxConcurrentInvocationsPerInstance, 1-1000 (default: SageMaker's)
  --network-isolation          EnableNetworkIsolation (the container cannot reach S3: use --model-data)
  --endpoint-name NAME         endpoint name (default: --name)
  --version V                  suffix of the model and config names (default: UTC yyyymmdd-hhmmss)
  --update                     UpdateEndpoint: move an existing endpoint to the new config
  --region REGION              AWS region (default: the SDK's usual lookup); must be the image's
  --no-wait                    return after the create/update call instead of waiting for InService
  --wait-timeout S             how long to wait for InService (default 3600)
  --dry-run                    print the requests as JSON and send nothing
`;

export interface DeployCli {
  readonly options: DeployOptions;
  readonly region: string | undefined;
  readonly dryRun: boolean;
  readonly wait: boolean;
  readonly waitTimeoutSeconds: number;
}

export function parseDeployArgs(argv: readonly string[], now: Date = new Date()): DeployCli {
  const v = parseFlags(argv, {
    name: { type: 'string' },
    image: { type: 'string' },
    role: { type: 'string' },
    'model-data': { type: 'string' },
    env: { type: 'string', multiple: true },
    'instance-type': { type: 'string' },
    'instance-count': { type: 'string' },
    'startup-timeout': { type: 'string' },
    'download-timeout': { type: 'string' },
    'volume-size': { type: 'string' },
    'inference-ami-version': { type: 'string' },
    serverless: { type: 'string' },
    async: { type: 'string' },
    'async-failure': { type: 'string' },
    'async-max-concurrency': { type: 'string' },
    autoscale: { type: 'string' },
    'scale-on': { type: 'string' },
    target: { type: 'string' },
    'scale-in-cooldown': { type: 'string' },
    'scale-out-cooldown': { type: 'string' },
    'serverless-memory': { type: 'string' },
    'serverless-concurrency': { type: 'string' },
    'network-isolation': { type: 'boolean' },
    'endpoint-name': { type: 'string' },
    version: { type: 'string' },
    update: { type: 'boolean' },
    region: { type: 'string' },
    'no-wait': { type: 'boolean' },
    'wait-timeout': { type: 'string' },
    'dry-run': { type: 'boolean' },
  });
  requireFlags(v, ['name', 'image', 'role']);
  if (v.serverless !== undefined && (v['serverless-memory'] !== undefined || v['serverless-concurrency'] !== undefined)) {
    throw new UsageError('give --serverless MB:N or --serverless-memory/--serverless-concurrency, not both');
  }
  const pair = v.serverless === undefined ? undefined : intPair(v.serverless, '--serverless', 'MEMORY_MB:MAX_CONCURRENCY (e.g. 6144:10)', 1024, 6144, 1, 200);
  const memory = pair?.[0] ?? integer(v['serverless-memory'], '--serverless-memory', undefined, 1024, 6144);
  const concurrency = pair?.[1] ?? integer(v['serverless-concurrency'], '--serverless-concurrency', 5, 1, 200);
  const env = envPairs(v.env);
  let autoscale: AutoscaleOptions | undefined;
  if (v.autoscale !== undefined) {
    const [min, max] = intPair(v.autoscale, '--autoscale', 'MIN:MAX instances (e.g. 1:4)', 0, 1000, 0, 1000);
    if (v.target === undefined) throw new UsageError('--autoscale needs --target (invocations per instance per minute, or queued pairs per instance with --scale-on queue)');
    const target = Number(v.target);
    if (!Number.isFinite(target) || target <= 0) throw new UsageError(`--target must be a number above 0, got ${JSON.stringify(v.target)}`);
    autoscale = {
      min,
      max,
      scaleOn: oneOf<ScaleOn>(v['scale-on'], '--scale-on', ['invocations', 'queue'], 'invocations'),
      target,
      scaleInCooldownSeconds: integer(v['scale-in-cooldown'], '--scale-in-cooldown', 300, 0, 86400),
      scaleOutCooldownSeconds: integer(v['scale-out-cooldown'], '--scale-out-cooldown', 60, 0, 86400),
    };
  } else if (v['scale-on'] !== undefined || v.target !== undefined) {
    throw new UsageError('--scale-on and --target belong to --autoscale MIN:MAX');
  }
  if (v['no-wait'] && autoscale) throw new UsageError('--autoscale needs the endpoint InService first: drop --no-wait');
  if ((v['async-failure'] !== undefined || v['async-max-concurrency'] !== undefined) && v.async === undefined) throw new UsageError('--async-failure and --async-max-concurrency belong to --async S3URI');
  const options: DeployOptions = {
    name: required(v.name, '--name', 'base name of the model, endpoint config and endpoint'),
    image: required(v.image, '--image', 'the ECR image URI'),
    role: required(v.role, '--role', 'the SageMaker execution role ARN'),
    modelData: v['model-data'],
    env,
    instanceType: v['instance-type'],
    instanceCount: integer(v['instance-count'], '--instance-count', undefined, 1, 1000),
    startupTimeoutSeconds: integer(v['startup-timeout'], '--startup-timeout', 600, 60, 3600),
    downloadTimeoutSeconds: integer(v['download-timeout'], '--download-timeout', 1200, 60, 3600),
    volumeSizeGb: integer(v['volume-size'], '--volume-size', undefined, 1, 512),
    inferenceAmiVersion: v['inference-ami-version'],
    serverless: memory === undefined ? undefined : { memoryMb: memory, maxConcurrency: concurrency },
    async: v.async === undefined ? undefined : { output: v.async, failure: v['async-failure'], maxConcurrency: integer(v['async-max-concurrency'], '--async-max-concurrency', undefined, 1, 1000) },
    autoscale,
    networkIsolation: v['network-isolation'] ?? false,
    endpointName: v['endpoint-name'],
    version: v.version ?? utcStamp(now),
    update: v.update ?? false,
  };
  return {
    options,
    region: regionFor(v.region, v.image ? ecrImage(v.image, '--image') : undefined),
    dryRun: v['dry-run'] ?? false,
    wait: !(v['no-wait'] ?? false),
    waitTimeoutSeconds: integer(v['wait-timeout'], '--wait-timeout', 3600, 60, 6 * 3600),
  };
}

function utcStamp(d: Date): string {
  const iso = d.toISOString(); // 2025-01-31T12:34:56.789Z
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
}


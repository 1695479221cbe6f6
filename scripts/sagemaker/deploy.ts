/**
 * Deploys the reranker image as a SageMaker real-time, serverless or asynchronous endpoint:
 * CreateModel -> CreateEndpointConfig -> CreateEndpoint (or UpdateEndpoint), waits for InService,
 * then (with --autoscale) registers the variant with Application Auto Scaling and puts a
 * target-tracking policy. `--dry-run` prints the exact requests and sends nothing.
 *
 *   node dist/scripts/sagemaker/deploy.js --name bge-reranker \
 *     --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-reranker:gpu \
 *     --role arn:aws:iam::123456789012:role/SageMakerExecution \
 *     --model-data s3://my-bucket/models/bge-reranker-base/ --instance-type ml.g5.xlarge
 */
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  SageMakerClient,
  UpdateEndpointCommand,
  waitUntilEndpointInService,
  type CreateEndpointConfigCommandInput,
  type CreateEndpointInput,
  type CreateModelCommandInput,
  type ProductionVariant,
  type UpdateEndpointInput,
} from '@aws-sdk/client-sagemaker';
import { ApplicationAutoScalingClient, PutScalingPolicyCommand, RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { autoscalingRequests, EMF_NAMESPACE, type AutoscaleOptions } from './autoscaling';
import { ecrImage, formatDryRun, instanceType, resourceName, runCli, s3Uri, UsageError, type ApiRequest } from './cliArgs';
import { DEPLOY_USAGE, parseDeployArgs } from './deployArgs';

export { DEPLOY_USAGE, parseDeployArgs, type DeployCli } from './deployArgs';


export interface DeployOptions {
  readonly name: string;
  readonly image: string;
  readonly role: string;
  readonly modelData?: string | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly instanceType?: string | undefined;
  readonly instanceCount?: number | undefined;
  readonly startupTimeoutSeconds?: number | undefined;
  readonly downloadTimeoutSeconds?: number | undefined;
  readonly volumeSizeGb?: number | undefined;
  readonly inferenceAmiVersion?: string | undefined;
  readonly serverless?: { readonly memoryMb: number; readonly maxConcurrency: number } | undefined;
  readonly async?: { readonly output: string; readonly failure?: string | undefined; readonly maxConcurrency?: number | undefined } | undefined;
  readonly autoscale?: AutoscaleOptions | undefined;
  readonly networkIsolation?: boolean | undefined;
  readonly endpointName?: string | undefined;
  /** Suffix that keeps each deployment's model and config names unique. */
  readonly version: string;
  readonly update?: boolean | undefined;
}

export interface DeployRequests {
  readonly createModel: CreateModelCommandInput;
  readonly createEndpointConfig: CreateEndpointConfigCommandInput;
  /** CreateEndpoint, or UpdateEndpoint with --update. */
  readonly endpoint: { readonly command: 'CreateEndpoint'; readonly input: CreateEndpointInput } | { readonly command: 'UpdateEndpoint'; readonly input: UpdateEndpointInput };
  /** RegisterScalableTarget and PutScalingPolicy, sent once the endpoint is InService. */
  readonly autoscaling: ApiRequest[];
}

const VARIANT = 'AllTraffic';

const MODEL_ENV_KEYS = ['MODEL_URI', 'MODEL_DIR', 'HF_MODEL_ID'];

/**
 * The model data in the shape SageMaker wants: a .tar.gz is a plain ModelDataUrl (extracted into
 * /opt/ml/model); anything else is an uncompressed prefix, which SageMaker copies key by key and
 * which must end in "/".
 */
export function modelDataFields(uri: string): Pick<NonNullable<CreateModelCommandInput['PrimaryContainer']>, 'ModelDataUrl' | 'ModelDataSource'> {
  s3Uri(uri, '--model-data');
  if (/\.(tar\.gz|tgz)$/i.test(uri)) return { ModelDataUrl: uri };
  const prefix = uri.endsWith('/') ? uri : `${uri}/`;
  return { ModelDataSource: { S3DataSource: { S3Uri: prefix, S3DataType: 'S3Prefix', CompressionType: 'None' } } };
}

export function buildDeployRequests(o: DeployOptions): DeployRequests {
  resourceName(o.name, '--name');
  const modelName = resourceName(`${o.name}-${o.version}`, '--name with --version');
  const configName = resourceName(`${modelName}-config`, '--name with --version');
  const endpointName = resourceName(o.endpointName ?? o.name, '--endpoint-name');
  if (!o.image.trim()) throw new UsageError('missing --image (the ECR image URI)');
  ecrImage(o.image, '--image');
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(o.role)) throw new UsageError(`--role must be an IAM role ARN, got ${JSON.stringify(o.role)}`);

  // SageMaker does not tell a container its endpoint's names: pass them for the EMF dimensions.
  // Async invocations may run up to an hour and carry payloads far above 6 MB.
  const env: Record<string, string> = {
    ENDPOINT_NAME: endpointName,
    VARIANT_NAME: VARIANT,
    MODEL_NAME: o.name,
    ...(o.async ? { REQUEST_TIMEOUT: '3595', MAX_PAYLOAD_MB: '100' } : {}),
    ...(o.env ?? {}),
  };
  if (o.networkIsolation && env['MODEL_URI'] !== undefined) {
    throw new UsageError('--network-isolation: the container cannot reach S3, so MODEL_URI cannot work; pass the model with --model-data');
  }
  if (o.serverless && o.instanceType) throw new UsageError('--serverless-memory and --instance-type exclude each other');
  if (!o.serverless && !o.instanceType) throw new UsageError('missing --instance-type (or --serverless-memory for a serverless endpoint)');
  if (o.serverless && o.networkIsolation) throw new UsageError('serverless endpoints do not support --network-isolation');
  if (o.serverless && o.async) throw new UsageError('--async and --serverless exclude each other (asynchronous endpoints run on instances)');
  if (o.serverless && o.autoscale) throw new UsageError('--autoscale is for instance-based endpoints; serverless endpoints scale by --serverless MB:CONCURRENCY');
  if (o.instanceType) instanceType(o.instanceType, '--instance-type');
  if (o.async) {
    s3Uri(o.async.output, '--async');
    if (o.async.failure) s3Uri(o.async.failure, '--async-failure');
  }
  if (o.autoscale?.scaleOn === 'queue' && /^(0|false|no|off)$/i.test(env['METRICS_EMF'] ?? 'true')) {
    throw new UsageError('--scale-on queue needs the EMF metrics the container prints (remove METRICS_EMF=false)');
  }
  if (o.serverless && (o.serverless.memoryMb % 1024 !== 0 || o.serverless.memoryMb < 1024 || o.serverless.memoryMb > 6144)) {
    throw new UsageError(`--serverless-memory must be 1024, 2048, 3072, 4096, 5120 or 6144, got ${o.serverless.memoryMb}`);
  }

  const createModel: CreateModelCommandInput = {
    ModelName: modelName,
    ExecutionRoleArn: o.role,
    PrimaryContainer: {
      Image: o.image.trim(),
      ...(o.modelData ? modelDataFields(o.modelData) : {}),
      ...(Object.keys(env).length ? { Environment: env } : {}),
    },
    ...(o.networkIsolation ? { EnableNetworkIsolation: true } : {}),
  };

  // Serverless variants take none of the instance-level settings (timeouts, volume, AMI).
  const variant: ProductionVariant = o.serverless
    ? { VariantName: 'AllTraffic', ModelName: modelName, ServerlessConfig: { MemorySizeInMB: o.serverless.memoryMb, MaxConcurrency: o.serverless.maxConcurrency } }
    : {
        VariantName: 'AllTraffic',
        ModelName: modelName,
        InstanceType: o.instanceType as ProductionVariant['InstanceType'],
        InitialInstanceCount: o.instanceCount ?? Math.max(1, o.autoscale?.min ?? 1),
        ContainerStartupHealthCheckTimeoutInSeconds: o.startupTimeoutSeconds ?? 600,
        ModelDataDownloadTimeoutInSeconds: o.downloadTimeoutSeconds ?? 1200,
        ...(o.volumeSizeGb !== undefined ? { VolumeSizeInGB: o.volumeSizeGb } : {}),
        ...(o.inferenceAmiVersion ? { InferenceAmiVersion: o.inferenceAmiVersion as ProductionVariant['InferenceAmiVersion'] } : {}),
      };
  const createEndpointConfig: CreateEndpointConfigCommandInput = {
    EndpointConfigName: configName,
    ProductionVariants: [variant],
    ...(o.async
      ? {
          AsyncInferenceConfig: {
            OutputConfig: { S3OutputPath: o.async.output, ...(o.async.failure ? { S3FailurePath: o.async.failure } : {}) },
            ...(o.async.maxConcurrency !== undefined ? { ClientConfig: { MaxConcurrentInvocationsPerInstance: o.async.maxConcurrency } } : {}),
          },
        }
      : {}),
  };
  const autoscaling = o.autoscale
    ? autoscalingRequests(o.autoscale, { endpointName, variantName: VARIANT, modelDimension: env['MODEL_NAME'] ?? o.name, namespace: env['METRICS_EMF_NAMESPACE'] ?? EMF_NAMESPACE }, o.async !== undefined)
    : [];
  const endpointInput = { EndpointName: endpointName, EndpointConfigName: configName };
  return {
    createModel,
    createEndpointConfig,
    // An autoscaled variant keeps the instance count scaling gave it instead of dropping back to
    // InitialInstanceCount (AWS rejects an update that changes an autoscaled variant's instance type:
    // teardown's first two calls, or the console, deregister it first).
    endpoint: o.update
      ? { command: 'UpdateEndpoint', input: o.autoscale ? { ...endpointInput, RetainAllVariantProperties: true } : endpointInput }
      : { command: 'CreateEndpoint', input: endpointInput },
    autoscaling,
  };
}

export function deployRequestList(r: DeployRequests): ApiRequest[] {
  return [
    { command: 'CreateModel', input: r.createModel },
    { command: 'CreateEndpointConfig', input: r.createEndpointConfig },
    { command: r.endpoint.command, input: r.endpoint.input },
    ...r.autoscaling,
  ];
}

export async function deploy(argv: readonly string[]): Promise<void> {
  const cli = parseDeployArgs(argv);
  const requests = buildDeployRequests(cli.options);
  if (!cli.options.modelData && !MODEL_ENV_KEYS.some((k) => cli.options.env?.[k] !== undefined)) {
    process.stderr.write("note: no --model-data and no MODEL_URI/MODEL_DIR/HF_MODEL_ID in --env: the endpoint will serve the image's demo model\n");
  }
  if (cli.dryRun) {
    process.stdout.write(`${formatDryRun(deployRequestList(requests))}\n`);
    return;
  }
  const client = new SageMakerClient(cli.region ? { region: cli.region } : {});
  const model = await client.send(new CreateModelCommand(requests.createModel));
  process.stderr.write(`created model ${requests.createModel.ModelName}: ${model.ModelArn}\n`);
  await client.send(new CreateEndpointConfigCommand(requests.createEndpointConfig));
  process.stderr.write(`created endpoint config ${requests.createEndpointConfig.EndpointConfigName}\n`);
  const ep = requests.endpoint;
  const out = ep.command === 'UpdateEndpoint' ? await client.send(new UpdateEndpointCommand(ep.input)) : await client.send(new CreateEndpointCommand(ep.input));
  process.stderr.write(`${ep.command === 'UpdateEndpoint' ? 'updating' : 'creating'} endpoint ${ep.input.EndpointName}: ${out.EndpointArn}\n`);
  if (!cli.wait) return;
  process.stderr.write(`waiting up to ${cli.waitTimeoutSeconds} s for InService (the container must answer /ping within the startup timeout)\n`);
  try {
    await waitUntilEndpointInService({ client, maxWaitTime: cli.waitTimeoutSeconds, minDelay: 15, maxDelay: 60 }, { EndpointName: ep.input.EndpointName });
  } catch (e) {
    // The waiter's own error says only that it stopped; the endpoint knows why.
    const d = await client.send(new DescribeEndpointCommand({ EndpointName: ep.input.EndpointName })).catch(() => undefined);
    if (d) throw new Error(`endpoint ${ep.input.EndpointName} is ${d.EndpointStatus}${d.FailureReason ? `: ${d.FailureReason}` : ''} (CloudWatch log group /aws/sagemaker/Endpoints/${ep.input.EndpointName})`, { cause: e });
    throw e;
  }
  if (requests.autoscaling.length) {
    const scaling = new ApplicationAutoScalingClient(cli.region ? { region: cli.region } : {});
    for (const r of requests.autoscaling) {
      if (r.command === 'RegisterScalableTarget') await scaling.send(new RegisterScalableTargetCommand(r.input as ConstructorParameters<typeof RegisterScalableTargetCommand>[0]));
      else await scaling.send(new PutScalingPolicyCommand(r.input as ConstructorParameters<typeof PutScalingPolicyCommand>[0]));
      process.stderr.write(`${r.command} done\n`);
    }
  }
  process.stdout.write(`${JSON.stringify({ EndpointName: ep.input.EndpointName, EndpointStatus: 'InService' })}\n`);
}

if (require.main === module) runCli(DEPLOY_USAGE, deploy);

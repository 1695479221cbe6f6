/**
 * The SageMaker user scripts, without AWS: the pure request builders, and the scripts themselves
 * run with --dry-run (the compiled .js under dist, or the .ts through tsx when this file runs
 * from source), whose printed JSON must be exactly what the builders make.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { dryRun, runScript } from '../helpers/sagemakerScripts';
import { buildBatchTransformRequest, parseBatchTransformArgs } from '../../scripts/sagemaker/batch-transform';
import { envPairs, UsageError } from '../../scripts/sagemaker/cliArgs';
import { buildDeployRequests, deployRequestList, modelDataFields, parseDeployArgs, type DeployOptions } from '../../scripts/sagemaker/deploy';
import { buildInvokeRequest, MAX_INVOKE_BYTES, parseInvokeArgs } from '../../scripts/sagemaker/invoke';

const ROOT = repoRootOf();
function repoRootOf(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'scripts', 'sagemaker'))) return dir;
  }
  throw new Error('repository root not found');
}

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-reranker:gpu';
const ROLE = 'arn:aws:iam::123456789012:role/service-role/SageMakerExecution';
const BASE: DeployOptions = { name: 'bge-reranker', image: IMAGE, role: ROLE, instanceType: 'ml.g5.xlarge', version: 'v1' };

describe('deploy: buildDeployRequests', () => {
  it('builds CreateModel, CreateEndpointConfig and CreateEndpoint for an uncompressed S3 prefix', () => {
    const r = buildDeployRequests({ ...BASE, modelData: 's3://models-bucket/bge-reranker-base/', env: { LOG_LEVEL: 'debug', MAX_BATCH_TOKENS: '32768' } });
    assert.deepEqual(deployRequestList(r), [
      {
        command: 'CreateModel',
        input: {
          ModelName: 'bge-reranker-v1',
          ExecutionRoleArn: ROLE,
          PrimaryContainer: {
            Image: IMAGE,
            ModelDataSource: { S3DataSource: { S3Uri: 's3://models-bucket/bge-reranker-base/', S3DataType: 'S3Prefix', CompressionType: 'None' } },
            Environment: { ENDPOINT_NAME: 'bge-reranker', VARIANT_NAME: 'AllTraffic', MODEL_NAME: 'bge-reranker', LOG_LEVEL: 'debug', MAX_BATCH_TOKENS: '32768' },
          },
        },
      },
      {
        command: 'CreateEndpointConfig',
        input: {
          EndpointConfigName: 'bge-reranker-v1-config',
          ProductionVariants: [
            {
              VariantName: 'AllTraffic',
              ModelName: 'bge-reranker-v1',
              InstanceType: 'ml.g5.xlarge',
              InitialInstanceCount: 1,
              ContainerStartupHealthCheckTimeoutInSeconds: 600,
              ModelDataDownloadTimeoutInSeconds: 1200,
            },
          ],
        },
      },
      { command: 'CreateEndpoint', input: { EndpointName: 'bge-reranker', EndpointConfigName: 'bge-reranker-v1-config' } },
    ]);
  });

  it('uses a plain ModelDataUrl for a .tar.gz and adds the trailing / a prefix needs', () => {
    assert.deepEqual(modelDataFields('s3://b1k/models/model.tar.gz'), { ModelDataUrl: 's3://b1k/models/model.tar.gz' });
    assert.deepEqual(modelDataFields('s3://b1k/models/m.tgz'), { ModelDataUrl: 's3://b1k/models/m.tgz' });
    assert.deepEqual(modelDataFields('s3://b1k/models/bge'), { ModelDataSource: { S3DataSource: { S3Uri: 's3://b1k/models/bge/', S3DataType: 'S3Prefix', CompressionType: 'None' } } });
    const r = buildDeployRequests({ ...BASE, modelData: 's3://b1k/models/model.tar.gz' });
    assert.equal(r.createModel.PrimaryContainer?.ModelDataUrl, 's3://b1k/models/model.tar.gz');
    assert.equal(r.createModel.PrimaryContainer?.ModelDataSource, undefined);
    assert.throws(() => modelDataFields('https://b1k.s3.amazonaws.com/x.tar.gz'), /--model-data must be an s3:\/\/bucket\/key URI/);
  });

  it('passes the timeouts, volume, AMI version and instance count through', () => {
    const v = buildDeployRequests({ ...BASE, instanceCount: 2, startupTimeoutSeconds: 1800, downloadTimeoutSeconds: 900, volumeSizeGb: 64, inferenceAmiVersion: 'al2-ami-sagemaker-inference-gpu-3-1' }).createEndpointConfig.ProductionVariants?.[0];
    assert.equal(v?.InitialInstanceCount, 2);
    assert.equal(v?.ContainerStartupHealthCheckTimeoutInSeconds, 1800);
    assert.equal(v?.ModelDataDownloadTimeoutInSeconds, 900);
    assert.equal(v?.VolumeSizeInGB, 64);
    assert.equal(v?.InferenceAmiVersion, 'al2-ami-sagemaker-inference-gpu-3-1');
  });

  it('sets only the names the EMF dimensions need, and no model data, when none is given (the image serves its demo model)', () => {
    const c = buildDeployRequests(BASE).createModel.PrimaryContainer;
    assert.deepEqual(c, { Image: IMAGE, Environment: { ENDPOINT_NAME: 'bge-reranker', VARIANT_NAME: 'AllTraffic', MODEL_NAME: 'bge-reranker' } });
    // The user's values win.
    assert.equal(buildDeployRequests({ ...BASE, env: { MODEL_NAME: 'bge-base-v2' } }).createModel.PrimaryContainer?.Environment?.['MODEL_NAME'], 'bge-base-v2');
  });

  it('builds a serverless variant without instance settings', () => {
    const r = buildDeployRequests({ ...BASE, instanceType: undefined, serverless: { memoryMb: 6144, maxConcurrency: 10 } });
    assert.deepEqual(r.createEndpointConfig.ProductionVariants, [{ VariantName: 'AllTraffic', ModelName: 'bge-reranker-v1', ServerlessConfig: { MemorySizeInMB: 6144, MaxConcurrency: 10 } }]);
    assert.throws(() => buildDeployRequests({ ...BASE, serverless: { memoryMb: 2048, maxConcurrency: 1 } }), /exclude each other/);
    assert.throws(() => buildDeployRequests({ ...BASE, instanceType: undefined, serverless: { memoryMb: 1500, maxConcurrency: 1 } }), /1024, 2048/);
  });

  it('switches to UpdateEndpoint with update, and to a separate endpoint name', () => {
    const r = buildDeployRequests({ ...BASE, update: true, endpointName: 'rerank-prod' });
    assert.deepEqual(r.endpoint, { command: 'UpdateEndpoint', input: { EndpointName: 'rerank-prod', EndpointConfigName: 'bge-reranker-v1-config' } });
  });

  it('sets network isolation and refuses MODEL_URI with it', () => {
    assert.equal(buildDeployRequests({ ...BASE, networkIsolation: true, modelData: 's3://b1k/m/' }).createModel.EnableNetworkIsolation, true);
    assert.equal(buildDeployRequests(BASE).createModel.EnableNetworkIsolation, undefined);
    assert.throws(() => buildDeployRequests({ ...BASE, networkIsolation: true, env: { MODEL_URI: 's3://b1k/m/' } }), /cannot reach S3/);
  });

  it('rejects invalid names, role ARNs and a missing instance type', () => {
    assert.throws(() => buildDeployRequests({ ...BASE, name: 'bad_name' }), UsageError);
    assert.throws(() => buildDeployRequests({ ...BASE, name: 'x'.repeat(60) }), /--name with --version/);
    assert.throws(() => buildDeployRequests({ ...BASE, role: 'SageMakerExecution' }), /--role must be an IAM role ARN/);
    assert.throws(() => buildDeployRequests({ ...BASE, instanceType: undefined }), /missing --instance-type/);
  });
});

describe('deploy: arguments and --dry-run', () => {
  const args = ['--name', 'bge-reranker', '--image', IMAGE, '--role', ROLE, '--instance-type', 'ml.g5.xlarge', '--model-data', 's3://b1k/m/model.tar.gz', '--env', 'LOG_LEVEL=debug', '--env', 'BATCH_STRICT=true', '--startup-timeout', '900', '--version', 'v7'];

  it('parses flags into the builder options, with a UTC timestamp as the default version', () => {
    const cli = parseDeployArgs(args.filter((_, i) => i < args.length - 2), new Date('2025-01-31T12:34:56.789Z'));
    assert.equal(cli.options.version, '20250131-123456');
    assert.deepEqual(cli.options.env, { LOG_LEVEL: 'debug', BATCH_STRICT: 'true' });
    assert.equal(cli.options.startupTimeoutSeconds, 900);
    assert.equal(cli.wait, true);
    assert.equal(parseDeployArgs([...args, '--no-wait']).wait, false);
    assert.throws(() => parseDeployArgs([...args, '--startup-timeout', '10']), /--startup-timeout must be an integer from 60 to 3600/);
    assert.throws(() => parseDeployArgs([...args, '--serverless-memory', '512']), /--serverless-memory must be an integer from 1024 to 6144/);
  });

  it('prints exactly the requests the builder makes and sends nothing', () => {
    const printed = dryRun('deploy', args);
    assert.deepEqual(printed, JSON.parse(JSON.stringify(deployRequestList(buildDeployRequests(parseDeployArgs(args).options)))));
    assert.deepEqual(printed.map((p) => p.command), ['CreateModel', 'CreateEndpointConfig', 'CreateEndpoint']);
    const container = printed[0]!.input['PrimaryContainer'] as Record<string, unknown>;
    assert.equal(container['ModelDataUrl'], 's3://b1k/m/model.tar.gz');
    assert.deepEqual(container['Environment'], { ENDPOINT_NAME: 'bge-reranker', VARIANT_NAME: 'AllTraffic', MODEL_NAME: 'bge-reranker', LOG_LEVEL: 'debug', BATCH_STRICT: 'true' });
    const variant = (printed[1]!.input['ProductionVariants'] as Array<Record<string, unknown>>)[0]!;
    assert.equal(variant['ContainerStartupHealthCheckTimeoutInSeconds'], 900);
  });

  it('exits 2 naming every missing argument', () => {
    const r = runScript('deploy', ['--name', 'x', '--dry-run']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /error: missing --image, --role/);
    assert.match(r.stderr, /Usage: node dist\/scripts\/sagemaker\/deploy\.js/);
    assert.equal(r.stdout, '');
  });

  it('exits 2 on an unknown flag and on a bad --env pair', () => {
    assert.equal(runScript('deploy', [...args, '--colour', 'red', '--dry-run']).status, 2);
    const r = runScript('deploy', [...args, '--env', 'NOEQUALS', '--dry-run']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--env takes KEY=VALUE/);
  });
});

describe('batch-transform', () => {
  const base = { jobName: 'rerank-job-1', modelName: 'bge-reranker-v1', instanceType: 'ml.g5.xlarge', input: 's3://b1k/batch/in/', output: 's3://b1k/batch/out/' };

  it('builds a Line / MultiRecord / Line job over JSON Lines by default', () => {
    assert.deepEqual(buildBatchTransformRequest(base), {
      TransformJobName: 'rerank-job-1',
      ModelName: 'bge-reranker-v1',
      BatchStrategy: 'MultiRecord',
      MaxPayloadInMB: 6,
      ModelClientConfig: { InvocationsTimeoutInSeconds: 600 },
      Environment: { REQUEST_TIMEOUT: '595' },
      TransformInput: {
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://b1k/batch/in/' } },
        ContentType: 'application/jsonlines',
        CompressionType: 'None',
        SplitType: 'Line',
      },
      TransformOutput: { S3OutputPath: 's3://b1k/batch/out/', Accept: 'application/jsonlines', AssembleWith: 'Line' },
      TransformResources: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1 },
    });
  });

  it('takes CSV, payload size, concurrency, retries and environment (user env wins)', () => {
    const r = buildBatchTransformRequest({ ...base, contentType: 'text/csv', maxPayloadMb: 20, maxConcurrentTransforms: 4, invocationsTimeoutSeconds: 1200, invocationsMaxRetries: 0, env: { BATCH_STRICT: 'true', REQUEST_TIMEOUT: '900' }, transformAmiVersion: 'al2-ami-sagemaker-batch-gpu-535' });
    assert.equal(r.TransformInput?.ContentType, 'text/csv');
    assert.equal(r.TransformOutput?.Accept, 'text/csv');
    assert.equal(r.MaxPayloadInMB, 20);
    assert.equal(r.MaxConcurrentTransforms, 4);
    assert.deepEqual(r.ModelClientConfig, { InvocationsTimeoutInSeconds: 1200, InvocationsMaxRetries: 0 });
    assert.deepEqual(r.Environment, { REQUEST_TIMEOUT: '900', BATCH_STRICT: 'true' });
    assert.equal(r.TransformResources?.TransformAmiVersion, 'al2-ami-sagemaker-batch-gpu-535');
  });

  it('keeps MaxConcurrentTransforms x MaxPayloadInMB within 100', () => {
    assert.throws(() => buildBatchTransformRequest({ ...base, maxPayloadMb: 50, maxConcurrentTransforms: 3 }), /at most 100/);
    assert.throws(() => buildBatchTransformRequest({ ...base, maxPayloadMb: 101 }), /from 0 to 100/);
    assert.equal(buildBatchTransformRequest({ ...base, maxPayloadMb: 0 }).MaxPayloadInMB, 0);
  });

  it('prints the exact request with --dry-run', () => {
    const args = ['--job-name', 'rerank-job-1', '--model-name', 'bge-reranker-v1', '--instance-type', 'ml.c7i.2xlarge', '--input', 's3://b1k/batch/in/', '--output', 's3://b1k/batch/out/', '--content-type', 'text/csv', '--accept', 'application/jsonlines', '--max-payload-mb', '10', '--env', 'BATCH_STRICT=false'];
    const printed = dryRun('batch-transform', args);
    assert.deepEqual(printed, [{ command: 'CreateTransformJob', input: JSON.parse(JSON.stringify(buildBatchTransformRequest(parseBatchTransformArgs(args).options))) }]);
    const input = printed[0]!.input as unknown as ReturnType<typeof buildBatchTransformRequest>;
    assert.equal(input.TransformInput?.SplitType, 'Line');
    assert.equal(input.BatchStrategy, 'MultiRecord');
    assert.equal(input.TransformOutput?.AssembleWith, 'Line');
    assert.equal(input.TransformOutput?.Accept, 'application/jsonlines');
    assert.equal(input.MaxPayloadInMB, 10);
    assert.equal(input.Environment?.['BATCH_STRICT'], 'false');
  });

  it('exits 2 naming the missing arguments', () => {
    const r = runScript('batch-transform', ['--job-name', 'j', '--dry-run']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /missing --model-name, --instance-type, --input, --output/);
    const bad = runScript('batch-transform', ['--job-name', 'j', '--model-name', 'm', '--instance-type', 'ml.m5.xlarge', '--input', 's3://b1k/i/', '--output', 's3://b1k/o/', '--batch-strategy', 'Huge', '--dry-run']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--batch-strategy must be one of MultiRecord, SingleRecord/);
  });
});

describe('invoke', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'invoke-test-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('builds an InvokeEndpoint request from --query and --text', () => {
    const cli = parseInvokeArgs(['--endpoint-name', 'bge-reranker', '--query', 'what is panda?', '--text', 'The giant panda is a bear.', '--text', 'Paris', '--custom-attributes', 'top_n=1;raw_scores=true']);
    assert.deepEqual(buildInvokeRequest(cli.options), {
      EndpointName: 'bge-reranker',
      ContentType: 'application/json',
      CustomAttributes: 'top_n=1;raw_scores=true',
      Body: '{"query":"what is panda?","texts":["The giant panda is a bear.","Paris"]}',
    });
  });

  it('takes a body file with its own content type and accept, and checks the 6 MB limit', () => {
    const f = path.join(tmp, 'records.jsonl');
    writeFileSync(f, '{"query":"q","texts":["a"]}\n{"query":"q2","texts":["b"]}\n');
    const printed = dryRun('invoke', ['--endpoint-name', 'bge-reranker', '--body-file', f, '--content-type', 'application/jsonlines', '--accept', 'text/csv', '--inference-id', 'req-1', '--target-variant', 'AllTraffic']);
    assert.deepEqual(printed, [
      {
        command: 'InvokeEndpoint',
        input: { EndpointName: 'bge-reranker', ContentType: 'application/jsonlines', Accept: 'text/csv', TargetVariant: 'AllTraffic', InferenceId: 'req-1', Body: '{"query":"q","texts":["a"]}\n{"query":"q2","texts":["b"]}\n' },
      },
    ]);
    assert.throws(() => buildInvokeRequest({ endpointName: 'e', body: 'x'.repeat(MAX_INVOKE_BYTES + 1) }), /at most 6291456/);
  });

  it('exits 2 without an endpoint, without a body, or with two bodies', () => {
    const none = runScript('invoke', ['--query', 'q', '--text', 't', '--dry-run']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /missing --endpoint-name/);
    assert.match(runScript('invoke', ['--endpoint-name', 'e', '--dry-run']).stderr, /missing the request/);
    assert.match(runScript('invoke', ['--endpoint-name', 'e', '--query', 'q', '--dry-run']).stderr, /--query needs at least one --text/);
    assert.match(runScript('invoke', ['--endpoint-name', 'e', '--body', '{}', '--query', 'q', '--text', 't', '--dry-run']).stderr, /exclude each other/);
    assert.match(runScript('invoke', ['--endpoint-name', 'e', '--body-file', path.join(tmp, 'missing.json'), '--dry-run']).stderr, /cannot read --body-file/);
  });
});

describe('cliArgs', () => {
  it('parses --env pairs, keeping = inside values', () => {
    assert.deepEqual(envPairs(['A=1', 'B=x=y', 'A=2', 'EMPTY=']), { A: '2', B: 'x=y', EMPTY: '' });
    assert.throws(() => envPairs(['=v']), UsageError);
    assert.throws(() => envPairs(['1A=v']), UsageError);
  });
});

describe('docs/sagemaker.md', () => {
  it('documents every environment variable src/config.ts reads', () => {
    const config = readFileSync(path.join(ROOT, 'src/config.ts'), 'utf8');
    const keys = [...new Set([...config.matchAll(/\(env, '([A-Z0-9_]+)'/g)].map((m) => m[1]!))];
    assert.ok(keys.length > 30, `found only ${keys.length} keys in config.ts`);
    const doc = readFileSync(path.join(ROOT, 'docs/sagemaker.md'), 'utf8');
    const missing = keys.filter((k) => !doc.includes(`\`${k}\``));
    assert.deepEqual(missing, [], `undocumented: ${missing.join(', ')}`);
  });
});

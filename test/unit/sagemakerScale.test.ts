/**
 * The scaling side of the SageMaker scripts, without AWS: deploy's --autoscale, --serverless and
 * --async requests, the argument checks (instance types, ECR image URIs, bucket names, regions),
 * teardown's plan, invoke's local endpoint settings, batch-transform's DataProcessing and
 * /execution-parameters defaults, and the record handling local-transform shares with SageMaker's
 * semantics. Every --dry-run printout is compared with the builders' output.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildBatchTransformRequest, parseBatchTransformArgs, withExecutionParameters } from '../../scripts/sagemaker/batch-transform';
import { bucketProblem, ecrImage, instanceType, regionFor, s3Uri, UsageError } from '../../scripts/sagemaker/cliArgs';
import { buildDeployRequests, deployRequestList, parseDeployArgs } from '../../scripts/sagemaker/deploy';
import { isLocalUrl, parseInvokeArgs, runtimeClientConfig } from '../../scripts/sagemaker/invoke';
import { parseLocalTransformArgs } from '../../scripts/sagemaker/local-transform';
import { parseTeardownArgs, teardownRequests } from '../../scripts/sagemaker/teardown';
import { compileJsonPath, joinRecord, miniBatches, responseLines, splitRecords } from '../../scripts/sagemaker/transformRecords';
import { ROOT } from '../helpers/paths';
import { dryRun, runScript } from '../helpers/sagemakerScripts';

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-reranker:cpu';
const ROLE = 'arn:aws:iam::123456789012:role/SageMakerExecution';
const BASE = ['--name', 'rerank', '--image', IMAGE, '--role', ROLE, '--version', 'v1'];
const RID = 'endpoint/rerank/variant/AllTraffic';

describe('deploy --autoscale', () => {
  it('registers the variant and puts a target-tracking policy on invocations per instance', () => {
    const args = [...BASE, '--instance-type', 'ml.c7i.2xlarge', '--autoscale', '2:6', '--target', '300'];
    const printed = dryRun('deploy', args);
    assert.deepEqual(printed, JSON.parse(JSON.stringify(deployRequestList(buildDeployRequests(parseDeployArgs(args).options)))));
    assert.deepEqual(printed.map((p) => p.command), ['CreateModel', 'CreateEndpointConfig', 'CreateEndpoint', 'RegisterScalableTarget', 'PutScalingPolicy']);
    assert.equal((printed[1]!.input['ProductionVariants'] as Array<Record<string, unknown>>)[0]!['InitialInstanceCount'], 2);
    assert.deepEqual(printed[3]!.input, { ServiceNamespace: 'sagemaker', ResourceId: RID, ScalableDimension: 'sagemaker:variant:DesiredInstanceCount', MinCapacity: 2, MaxCapacity: 6 });
    assert.deepEqual(printed[4]!.input, {
      PolicyName: 'rerank-AllTraffic-target-tracking',
      ServiceNamespace: 'sagemaker',
      ResourceId: RID,
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 300,
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        ScaleInCooldown: 300,
        ScaleOutCooldown: 60,
      },
    });
  });

  it('tracks the EMF QueuedPairs metric with the same dimensions the container writes', () => {
    const r = buildDeployRequests(parseDeployArgs([...BASE, '--instance-type', 'ml.c7i.2xlarge', '--autoscale', '1:4', '--scale-on', 'queue', '--target', '256', '--scale-in-cooldown', '600']).options);
    const env = r.createModel.PrimaryContainer!.Environment!;
    const spec = (r.autoscaling[1]!.input as any).TargetTrackingScalingPolicyConfiguration;
    assert.deepEqual(spec.CustomizedMetricSpecification, {
      Namespace: 'SageMakerReranker',
      MetricName: 'QueuedPairs',
      Dimensions: [
        { Name: 'EndpointName', Value: env['ENDPOINT_NAME'] },
        { Name: 'VariantName', Value: env['VARIANT_NAME'] },
        { Name: 'Model', Value: env['MODEL_NAME'] },
      ],
      Statistic: 'Average',
      Unit: 'Count',
    });
    assert.equal(spec.TargetValue, 256);
    assert.equal(spec.ScaleInCooldown, 600);
    assert.throws(() => buildDeployRequests(parseDeployArgs([...BASE, '--instance-type', 'ml.c7i.2xlarge', '--autoscale', '1:4', '--scale-on', 'queue', '--target', '9', '--env', 'METRICS_EMF=false']).options), /needs the EMF metrics/);
  });

  it('with --update keeps the instance count scaling reached (RetainAllVariantProperties)', () => {
    const r = buildDeployRequests(parseDeployArgs([...BASE, '--instance-type', 'ml.c7i.2xlarge', '--update', '--autoscale', '1:4', '--target', '100']).options);
    assert.deepEqual(r.endpoint, { command: 'UpdateEndpoint', input: { EndpointName: 'rerank', EndpointConfigName: 'rerank-v1-config', RetainAllVariantProperties: true } });
    assert.deepEqual(buildDeployRequests(parseDeployArgs([...BASE, '--instance-type', 'ml.c7i.2xlarge', '--update']).options).endpoint.input, { EndpointName: 'rerank', EndpointConfigName: 'rerank-v1-config' });
  });

  it('refuses bad ranges, a missing target, --no-wait, serverless, and MIN 0 without --async', () => {
    const d = (...extra: string[]) => () => buildDeployRequests(parseDeployArgs([...BASE, '--instance-type', 'ml.c7i.2xlarge', ...extra]).options);
    assert.throws(d('--autoscale', '4:2', '--target', '1'), /MIN <= MAX/);
    assert.throws(d('--autoscale', '1-4', '--target', '1'), /MIN:MAX/);
    assert.throws(d('--autoscale', '1:4'), /needs --target/);
    assert.throws(d('--autoscale', '1:4', '--target=-3'), /--target must be a number above 0/);
    assert.throws(d('--autoscale', '1:4', '--target', '5', '--no-wait'), /drop --no-wait/);
    assert.throws(d('--autoscale', '0:4', '--target', '5'), /MIN 0 needs --async/);
    assert.throws(d('--target', '5'), /belong to --autoscale/);
    assert.throws(() => buildDeployRequests(parseDeployArgs([...BASE, '--serverless', '2048:5', '--autoscale', '1:2', '--target', '5']).options), /serverless endpoints scale by/);
  });
});

describe('deploy --serverless and --async', () => {
  it('--serverless MB:N builds a serverless variant and checks both numbers', () => {
    const printed = dryRun('deploy', [...BASE, '--serverless', '6144:10']);
    assert.deepEqual((printed[1]!.input['ProductionVariants'] as unknown[])[0], { VariantName: 'AllTraffic', ModelName: 'rerank-v1', ServerlessConfig: { MemorySizeInMB: 6144, MaxConcurrency: 10 } });
    assert.throws(() => parseDeployArgs([...BASE, '--serverless', '6144']), /MEMORY_MB:MAX_CONCURRENCY/);
    assert.throws(() => parseDeployArgs([...BASE, '--serverless', '512:10']), /from 1024 to 6144/);
    assert.throws(() => parseDeployArgs([...BASE, '--serverless', '2048:500']), /from 1 to 200/);
    assert.throws(() => parseDeployArgs([...BASE, '--serverless', '2048:5', '--serverless-memory', '2048']), /not both/);
  });

  it('--async adds AsyncInferenceConfig, a long REQUEST_TIMEOUT and large payloads, and may scale to zero', () => {
    const args = [...BASE, '--instance-type', 'ml.g5.xlarge', '--async', 's3://my-results/async/', '--async-failure', 's3://my-results/failed/', '--async-max-concurrency', '4', '--autoscale', '0:3', '--target', '5'];
    const printed = dryRun('deploy', args);
    assert.deepEqual(printed[1]!.input['AsyncInferenceConfig'], {
      OutputConfig: { S3OutputPath: 's3://my-results/async/', S3FailurePath: 's3://my-results/failed/' },
      ClientConfig: { MaxConcurrentInvocationsPerInstance: 4 },
    });
    const env = (printed[0]!.input['PrimaryContainer'] as any).Environment;
    assert.equal(env.REQUEST_TIMEOUT, '3595');
    assert.equal(env.MAX_PAYLOAD_MB, '100');
    assert.equal((printed[3]!.input as any).MinCapacity, 0);
    assert.equal((printed[1]!.input['ProductionVariants'] as any)[0].InitialInstanceCount, 1);
    assert.equal(buildDeployRequests(parseDeployArgs([...args, '--env', 'REQUEST_TIMEOUT=900']).options).createModel.PrimaryContainer?.Environment?.['REQUEST_TIMEOUT'], '900');
    assert.throws(() => parseDeployArgs([...BASE, '--async-failure', 's3://x-y-z/f/']), /belong to --async/);
    assert.throws(() => buildDeployRequests(parseDeployArgs([...BASE, '--serverless', '2048:5', '--async', 's3://my-results/a/']).options), /exclude each other/);
  });
});

describe('argument checks', () => {
  it('instance types need the ml. prefix, with a hint', () => {
    assert.equal(instanceType('ml.g5.xlarge', '--instance-type'), 'ml.g5.xlarge');
    assert.equal(instanceType('ml.inf2.xlarge', '--instance-type'), 'ml.inf2.xlarge');
    assert.throws(() => instanceType('g5.xlarge', '--instance-type'), /did you mean ml\.g5\.xlarge/);
    assert.throws(() => instanceType('big', '--instance-type'), /not a SageMaker instance type/);
    const r = runScript('deploy', [...BASE, '--instance-type', 'g5.xlarge', '--dry-run']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /did you mean ml\.g5\.xlarge/);
  });

  it('images must be ECR URIs, in the region given', () => {
    assert.deepEqual(ecrImage(IMAGE, '--image'), { uri: IMAGE, region: 'eu-west-1' });
    assert.equal(ecrImage('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/r@sha256:' + 'a'.repeat(64), '--image').region, 'cn-north-1');
    for (const bad of [':gpu', 'sagemaker-reranker:gpu', 'docker.io/library/reranker:1', '12345.dkr.ecr.us-east-1.amazonaws.com/r:1']) {
      assert.throws(() => ecrImage(bad, '--image'), /not an ECR image URI/, bad);
    }
    const r = runScript('deploy', ['--name', 'x', '--image', ':gpu', '--role', ROLE, '--instance-type', 'ml.g5.xlarge', '--dry-run']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not an ECR image URI/);
    assert.throws(() => regionFor('us-east-1', { region: 'eu-west-1' }), /only from ECR in the endpoint's own region/);
    assert.throws(() => regionFor('Frankfurt', undefined), /not an AWS region name/);
    assert.equal(regionFor('eu-west-1', { region: 'eu-west-1' }), 'eu-west-1');
  });

  it('bucket names follow S3 rules', () => {
    assert.equal(bucketProblem('my-bucket.logs'), undefined);
    assert.match(bucketProblem('My_Bucket')!, /capital letters or underscores/);
    assert.match(bucketProblem('ab')!, /3 to 63/);
    assert.match(bucketProblem('a..b')!, /two dots/);
    assert.match(bucketProblem('192.168.1.1')!, /IP address/);
    assert.throws(() => s3Uri('s3://My_Bucket/x', '--model-data'), /--model-data: bucket "My_Bucket" may not contain capital letters/);
  });

  it('a missing region gets a hint, not only the SDK’s "Region is missing"', () => {
    // A real call with no region anywhere: the SDK stops before any network access.
    const r = runScript('deploy', [...BASE, '--serverless', '2048:5', '--no-wait'], { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Region is missing.*pass --region us-east-1/);
  });
});

describe('teardown', () => {
  it('prints the policy, target, endpoint, config and model deletions in order', () => {
    const args = ['--endpoint-name', 'rerank', '--endpoint-config', 'rerank-v1-config', '--model', 'rerank-v1', '--model', 'rerank-v0'];
    const printed = dryRun('teardown', args);
    assert.deepEqual(printed.map((p) => p.command), ['DeleteScalingPolicy', 'DeregisterScalableTarget', 'DeleteEndpoint', 'DeleteEndpointConfig', 'DeleteModel', 'DeleteModel']);
    const cli = parseTeardownArgs(args);
    assert.deepEqual(printed, JSON.parse(JSON.stringify(teardownRequests({ endpointName: 'rerank', endpointConfigName: cli.endpointConfigName!, modelNames: cli.modelNames!, variantName: 'AllTraffic' }))));
    assert.deepEqual(printed[0]!.input, { PolicyName: 'rerank-AllTraffic-target-tracking', ServiceNamespace: 'sagemaker', ResourceId: RID, ScalableDimension: 'sagemaker:variant:DesiredInstanceCount' });
    assert.deepEqual(printed[5]!.input, { ModelName: 'rerank-v0' });
    assert.deepEqual(dryRun('teardown', ['--endpoint-name', 'rerank', '--endpoint-config', 'c1', '--keep-model']).map((p) => p.command).at(-1), 'DeleteEndpointConfig');
  });

  it('refuses a dry run it cannot name, and deleting without --yes when stdin is no terminal', () => {
    const r = runScript('teardown', ['--endpoint-name', 'rerank', '--dry-run']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /give --endpoint-config and --model/);
    const live = runScript('teardown', ['--endpoint-name', 'rerank', '--endpoint-config', 'c1', '--model', 'm1', '--region', 'us-east-1']);
    assert.equal(live.status, 2);
    assert.match(live.stderr, /pass --yes/);
    assert.throws(() => parseTeardownArgs(['--endpoint-name', 'bad_name']), UsageError);
  });
});

describe('invoke --endpoint-url', () => {
  it('targets a local server with no AWS account, and a remote one with the usual credentials', () => {
    const cli = parseInvokeArgs(['--endpoint-name', 'local', '--query', 'q', '--text', 't', '--endpoint-url', 'http://127.0.0.1:8080']);
    assert.deepEqual(runtimeClientConfig(cli), { region: 'us-east-1', endpoint: 'http://127.0.0.1:8080', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    assert.deepEqual(runtimeClientConfig({ region: 'eu-west-1', endpointUrl: 'https://vpce-1.runtime.sagemaker.eu-west-1.vpce.amazonaws.com' }), { region: 'eu-west-1', endpoint: 'https://vpce-1.runtime.sagemaker.eu-west-1.vpce.amazonaws.com' });
    assert.deepEqual(runtimeClientConfig({ region: undefined, endpointUrl: undefined }), {});
    assert.ok(isLocalUrl('http://localhost:8080') && !isLocalUrl('http://10.0.0.1:8080'));
    assert.throws(() => parseInvokeArgs(['--endpoint-name', 'x', '--body', '{}', '--endpoint-url', '127.0.0.1:8080']), /http\(s\):\/\/host/);
  });
});

describe('batch-transform at scale', () => {
  const args = ['--job-name', 'j1', '--model-name', 'm1', '--instance-type', 'ml.c7i.2xlarge', '--instance-count', '4', '--input', 's3://b1k/in/', '--output', 's3://b1k/out/'];

  it('adds DataProcessing for an id join and prints it', () => {
    const extra = ['--input-filter', '$["query","texts"]', '--join-source', 'Input', '--output-filter', '$["id","SageMakerOutput"]'];
    const printed = dryRun('batch-transform', [...args, ...extra]);
    assert.deepEqual(printed[0]!.input, JSON.parse(JSON.stringify(buildBatchTransformRequest(parseBatchTransformArgs([...args, ...extra]).options))));
    assert.deepEqual(printed[0]!.input['DataProcessing'], { InputFilter: '$["query","texts"]', JoinSource: 'Input', OutputFilter: '$["id","SageMakerOutput"]' });
    assert.equal((printed[0]!.input['TransformResources'] as any).InstanceCount, 4);
    assert.equal(buildBatchTransformRequest(parseBatchTransformArgs(args).options).DataProcessing, undefined);
    assert.throws(() => buildBatchTransformRequest(parseBatchTransformArgs([...args, '--input-filter', 'query']).options), /must be a JSONPath/);
    assert.throws(() => buildBatchTransformRequest(parseBatchTransformArgs([...args.slice(0, 5), 'c7i.2xlarge', ...args.slice(6)]).options), /did you mean ml\.c7i/);
  });

  it('fills concurrency, payload and strategy from /execution-parameters where no flag was given', () => {
    const o = parseBatchTransformArgs([...args, '--max-payload-mb', '4']).options;
    const filled = withExecutionParameters(o, new Set(['max-payload-mb']), { MaxConcurrentTransforms: 8, MaxPayloadInMB: 12, BatchStrategy: 'MULTI_RECORD' });
    assert.equal(filled.maxConcurrentTransforms, 8);
    assert.equal(filled.maxPayloadMb, 4);
    assert.equal(filled.batchStrategy, 'MultiRecord');
    assert.throws(() => buildBatchTransformRequest(withExecutionParameters(o, new Set(), { MaxConcurrentTransforms: 30, MaxPayloadInMB: 6 })), /at most 100/);
  });
});

describe('local-transform records', () => {
  it('splits lines, packs mini-batches under the payload limit, and fails a record above it', () => {
    assert.deepEqual(splitRecords('a\n\nb\r\nc\n'), ['a', 'b', 'c']);
    const recs = ['x'.repeat(40), 'y'.repeat(40), 'z'.repeat(40), 'w'.repeat(10)];
    assert.deepEqual(miniBatches(recs, 81, true, 'f'), [[0, 1], [2, 3]]);
    assert.deepEqual(miniBatches(recs, 80, true, 'f'), [[0], [1], [2, 3]]);
    assert.deepEqual(miniBatches(recs, 0, true, 'f'), [[0, 1, 2, 3]]);
    assert.deepEqual(miniBatches(recs, 1000, false, 'f'), [[0], [1], [2], [3]]);
    assert.throws(() => miniBatches(recs, 30, true, 's3://b/f'), /s3:\/\/b\/f: record 1 is 40 bytes, above MaxPayloadInMB/);
    assert.throws(() => responseLines('{"a":1}\n', 2, 'f'), /2 records sent, 1 lines answered/);
    assert.deepEqual(responseLines('1\n2\n', 2, 'f'), ['1', '2']);
  });

  it('applies the JSONPath subset of DataProcessing and joins answers to inputs', () => {
    const rec = { id: 'q7', query: 'q', texts: ['a', 'b'], meta: { lang: 'en' } };
    assert.deepEqual(compileJsonPath('$', 'f')(rec), rec);
    assert.deepEqual(compileJsonPath('$["query","texts"]', 'f')(rec), { query: 'q', texts: ['a', 'b'] });
    assert.deepEqual(compileJsonPath("$['id']", 'f')(rec), 'q7');
    assert.equal(compileJsonPath('$.meta.lang', 'f')(rec), 'en');
    assert.deepEqual(compileJsonPath('$.texts[1:]', 'f')(rec), ['b']);
    assert.deepEqual(compileJsonPath('$.texts[0,1]', 'f')(rec), ['a', 'b']);
    assert.throws(() => compileJsonPath('$..texts', 'f'), /unsupported JSONPath/);
    const joined = JSON.parse(joinRecord(JSON.stringify(rec), '{"scores":[0.9,0.1]}', true, compileJsonPath('$["id","SageMakerOutput"]', 'f')));
    assert.deepEqual(joined, { id: 'q7', SageMakerOutput: { scores: [0.9, 0.1] } });
    assert.deepEqual(JSON.parse(joinRecord('[1,2]', '0.5', true, undefined)), { SageMakerInput: [1, 2], SageMakerOutput: 0.5 });
    assert.equal(joinRecord('{}', 'plain', false, undefined), 'plain');
  });

  it('checks its arguments', () => {
    const base = ['--input', 's3://in-bucket/p/', '--output', 's3://out-bucket/o/', '--endpoint', 'http://127.0.0.1:8080'];
    assert.equal(parseLocalTransformArgs(base).joinSource, 'None');
    assert.throws(() => parseLocalTransformArgs(base.slice(0, 4)), /missing --endpoint/);
    assert.throws(() => parseLocalTransformArgs([...base, '--endpoint', 'localhost:1']), /--endpoint must be http/);
    assert.throws(() => parseLocalTransformArgs([...base, '--content-type', 'text/csv', '--input-filter', '$[1:]']), /need JSON records/);
    assert.throws(() => parseLocalTransformArgs([...base, '--output-filter', '$..x']), /unsupported JSONPath/);
  });
});

describe('docs: commands and policies as written', () => {
  const docs = ['docs/sagemaker.md', 'docs/operations.md'].map((f) => [f, readFileSync(path.join(ROOT, f), 'utf8')] as const);
  const blocks = (text: string, lang: string): string[] => [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

  it('every sh block that dry-runs a script runs here as written', () => {
    let ran = 0;
    for (const [file, text] of docs) {
      for (const block of blocks(text, 'sh').filter((b) => b.includes('node dist/scripts/sagemaker/') && b.includes('--dry-run'))) {
        // Only the dry-run commands (and the variable lines before them): the others need AWS.
        const commands = block.replace(/\\\n/g, ' ').split('\n').filter((l) => /^[A-Z_]+=\S+/.test(l) || l.includes('--dry-run'));
        const r = spawnSync('bash', ['-euo', 'pipefail', '-c', commands.join('\n')], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: os.tmpdir() }, encoding: 'utf8', timeout: 60_000 });
        assert.equal(r.status, 0, `${file}:\n${commands.join('\n')}\n${r.stderr}`);
        assert.ok(Array.isArray(JSON.parse(r.stdout.trim().split(/\n(?=\[)/)[0]!)), 'prints the requests as JSON');
        ran++;
      }
    }
    assert.ok(ran >= 6, `${ran} dry-run blocks`);
  });

  it('every json block (IAM policies) is valid JSON', () => {
    let parsed = 0;
    for (const [file, text] of docs) {
      for (const block of blocks(text, 'json')) {
        assert.doesNotThrow(() => JSON.parse(block), `${file}: ${block.slice(0, 120)}`);
        parsed++;
      }
    }
    assert.ok(parsed >= 3);
  });
});

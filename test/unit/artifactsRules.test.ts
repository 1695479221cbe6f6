import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { createDigester } from '../../src/artifacts/digest';
import { safeRelativePath } from '../../src/artifacts/modelFolder';
import { planRanges } from '../../src/artifacts/rangePlan';
import { createS3Client, describeEndpoint } from '../../src/artifacts/s3Client';
import { isRetryable, s3Error } from '../../src/artifacts/s3Errors';
import { parseS3Uri } from '../../src/artifacts/s3Uri';
import { planVerification } from '../../src/artifacts/verifyPlan';
import { loadConfig } from '../../src/config';

test('S3 URIs: prefix (SageMaker S3Prefix rule) or archive', () => {
  assert.deepEqual(parseS3Uri('s3://bucket/models/rr/'), { bucket: 'bucket', key: 'models/rr/', kind: 'prefix' });
  assert.deepEqual(parseS3Uri('s3://bucket/models/rr'), { bucket: 'bucket', key: 'models/rr/', kind: 'prefix' }, 'a folder without a slash must not match models/rr-v2/');
  assert.deepEqual(parseS3Uri('s3://bucket'), { bucket: 'bucket', key: '', kind: 'prefix' });
  assert.deepEqual(parseS3Uri('s3://bucket/a/model.tar.gz'), { bucket: 'bucket', key: 'a/model.tar.gz', kind: 'archive' });
  assert.equal(parseS3Uri('s3://bucket/m.tgz').kind, 'archive');
  assert.throws(() => parseS3Uri('https://bucket/x'), /expected s3:\/\/bucket/);
  assert.throws(() => parseS3Uri('s3://Bad_Bucket/x'), /invalid S3 bucket name/);
});

test('keys and entry names become safe relative paths', () => {
  assert.equal(safeRelativePath('onnx/model.onnx', 'k'), 'onnx/model.onnx');
  assert.equal(safeRelativePath('./config.json', 'k'), 'config.json');
  assert.equal(safeRelativePath('dir/', 'k'), 'dir');
  for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a/./b', '', 'C:\\x', 'a\0b']) {
    assert.throws(() => safeRelativePath(bad, `key "${bad}"`), /refused key/, bad);
  }
});

test('multipart ETag is recomputed from equal parts', () => {
  const data = crypto.randomBytes(2500);
  const parts = [data.subarray(0, 1000), data.subarray(1000, 2000), data.subarray(2000)];
  const expected = crypto.createHash('md5').update(Buffer.concat(parts.map((p) => crypto.createHash('md5').update(p).digest()))).digest('hex') + '-3';
  const d = createDigester({ algo: 'multipart-md5', partSize: 1000 });
  // chunk boundaries that do not line up with part boundaries
  for (let i = 0; i < data.length; i += 333) d.update(data.subarray(i, i + 333));
  assert.equal(d.digest(), expected);
  const md5 = createDigester({ algo: 'md5' });
  md5.update(data);
  assert.equal(md5.digest(), crypto.createHash('md5').update(data).digest('hex'));
  const sha = createDigester({ algo: 'sha256' });
  sha.update(data);
  assert.equal(sha.digest(), crypto.createHash('sha256').update(data).digest('base64'));
});

test('verification plan: what each kind of ETag and checksum allows', () => {
  const md5 = '"0123456789abcdef0123456789abcdef"';
  assert.equal(planVerification(md5, 10, {}).spec?.algo, 'md5');
  assert.match(planVerification(md5, 10, { ServerSideEncryption: 'aws:kms' }).describe, /size only.*SSE-KMS/);
  assert.equal(planVerification(md5, 10, { ServerSideEncryption: 'aws:kms', ChecksumSHA256: 'abc=' }).spec?.algo, 'sha256');
  const mp = '"0123456789abcdef0123456789abcdef-3"';
  assert.deepEqual(planVerification(mp, 2500, {}, 1000).spec, { algo: 'multipart-md5', partSize: 1000 });
  assert.equal(planVerification(mp, 2500, {}, 500).spec, undefined, 'unequal parts: not recomputable');
  assert.equal(planVerification(mp, 2500, { ChecksumCRC32: 'AAAAAA==', ChecksumType: 'FULL_OBJECT' }, 500).spec?.algo, 'crc32');
  assert.equal(planVerification(mp, 2500, { ChecksumSHA256: 'abc=-3', ChecksumType: 'COMPOSITE' }, 500).spec, undefined);
});

test('S3 errors become one line that says what was tried and what to fix', () => {
  const ctx = { op: 'GetObject', uri: 's3://b/m/config.json', bucket: 'b', key: 'm/', endpoint: 'http://127.0.0.1:1' };
  const err = (name: string, status: number, extra: object = {}): Error => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, ...extra });
  assert.match(s3Error(err('AccessDenied', 403), ctx).message, /HTTP 403 AccessDenied.*s3:ListBucket on arn:aws:s3:::b and s3:GetObject on arn:aws:s3:::b\/m\/\*/);
  assert.match(s3Error(err('NoSuchBucket', 404), ctx).message, /bucket "b" does not exist/);
  assert.match(s3Error(err('NoSuchKey', 404), ctx).message, /object does not exist: GetObject s3:\/\/b\/m\/config.json/);
  assert.match(s3Error(err('PermanentRedirect', 301, { Region: 'eu-west-1' }), ctx).message, /another region \(eu-west-1\).*AWS_REGION=eu-west-1/);
  assert.match(s3Error(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), ctx).message, /cannot reach S3.*ECONNREFUSED/);
  assert.match(s3Error(err('CredentialsProviderError', 0), ctx).message, /no AWS credentials found/);
  assert.equal(s3Error(err('AccessDenied', 403), ctx).errorType, 'Artifact');
  assert.ok(isRetryable(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
  assert.ok(isRetryable(err('InternalError', 500)));
  assert.ok(!isRetryable(err('AccessDenied', 403)));
});

test('S3 client: checksums only when required for custom endpoints; endpoint shown without userinfo', async () => {
  const custom = loadConfig({ AWS_ENDPOINT_URL_S3: 'http://user:secret@127.0.0.1:9000', AWS_REGION: 'eu-west-1' }).s3;
  const c = createS3Client(custom);
  assert.equal(await c.config.requestChecksumCalculation(), 'WHEN_REQUIRED');
  assert.equal(await c.config.region(), 'eu-west-1');
  assert.equal(c.config.forcePathStyle, true);
  assert.equal(c.config.followRegionRedirects, true);
  assert.equal(describeEndpoint(custom), 'http://127.0.0.1:9000');
  const aws = createS3Client(loadConfig({}).s3);
  assert.equal(await aws.config.requestChecksumCalculation(), 'WHEN_SUPPORTED');
  assert.equal(await aws.config.region(), 'us-east-1');
});

test('range plan: equal parts of the part size, one range under the threshold', () => {
  const MB = 1024 * 1024;
  assert.deepEqual(planRanges(0, 16 * MB, 64 * MB), []);
  assert.deepEqual(planRanges(10 * MB, 16 * MB, 64 * MB), [0]);
  assert.deepEqual(planRanges(100 * MB, 128 * MB, 64 * MB), [0]);
  const starts = planRanges(256 * MB, 16 * MB, 64 * MB);
  const lens = starts.map((s, i) => (starts[i + 1] ?? 256 * MB) - s);
  assert.equal(lens.reduce((a, b) => a + b, 0), 256 * MB);
  assert.deepEqual(lens, new Array(16).fill(16 * MB));
  const odd = planRanges(100 * MB + 5, 16 * MB, 64 * MB);
  assert.equal(odd[0], 0);
  assert.ok(odd.every((s, i) => i === 0 || s > (odd[i - 1] ?? 0)));
  assert.ok((odd[odd.length - 1] ?? 0) < 100 * MB + 5);
  assert.equal(odd.length, 7);
});

/** Endpoint URLs as they may appear in a log line: no credentials, no presigned query. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactUrl } from '../../src/log';

test('redactUrl drops user:password@ and the query string, keeps host and path', () => {
  assert.equal(redactUrl('http://minio:minio-secret@10.0.0.5:9000/'), 'http://10.0.0.5:9000/');
  assert.equal(redactUrl('https://s3.eu-west-1.amazonaws.com/bucket/key?X-Amz-Signature=abc&X-Amz-Credential=AKIA'), 'https://s3.eu-west-1.amazonaws.com/bucket/key');
  assert.equal(redactUrl('http://localhost:4566'), 'http://localhost:4566/');
  assert.equal(redactUrl('not a url'), '[unparseable URL]');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvRow, parseCsv } from '../../src/http/csv';
import { requestFormat, responseFormat } from '../../src/http/media';
import { parseCustomAttributes, resolveOptions } from '../../src/http/options';

test('CSV follows RFC 4180: quotes, escaped quotes, commas and newlines inside quotes, CRLF', () => {
  const rows = parseCsv('query,document\r\n"a, b","say ""hi"""\nq,"two\nlines"\n');
  assert.deepEqual(rows.map((r) => r.fields), [['query', 'document'], ['a, b', 'say "hi"'], ['q', 'two\nlines']]);
  assert.deepEqual(rows.map((r) => r.line), [1, 2, 3]);
  assert.throws(() => parseCsv('q,"open'), /not closed/);
  assert.equal(csvRow(['x', 'a,b', 'q"q', 1.5]), 'x,"a,b","q""q",1.5');
});

test('media types accept parameters and map to the three formats', () => {
  assert.equal(requestFormat('application/json; charset=utf-8'), 'json');
  assert.equal(requestFormat('Application/JSONLines'), 'jsonlines');
  assert.equal(requestFormat('text/csv; header=present'), 'csv');
  assert.equal(requestFormat(undefined), 'json');
  assert.throws(() => requestFormat('application/xml'), (e: { status: number }) => e.status === 415);
  assert.equal(responseFormat('text/csv', 'json'), 'csv');
  assert.equal(responseFormat('*/*', 'jsonlines'), 'jsonlines');
  assert.throws(() => responseFormat('image/png', 'json'), (e: { status: number }) => e.status === 415);
});

test('custom attributes carry options; body fields win; bad values are 422', () => {
  const h = parseCustomAttributes('raw_scores=true;top_n=5; truncate=false;trace=abc');
  assert.deepEqual(h, { raw_scores: true, top_n: 5, truncate: false });
  const o = resolveOptions({ raw_scores: false }, h);
  assert.equal(o.rawScores, false);
  assert.equal(o.topN, 5);
  assert.equal(o.truncate, false);
  assert.equal(resolveOptions({}, {}).truncate, true, 'truncation is on by default');
  assert.throws(() => parseCustomAttributes('top_n=zero'), (e: { status: number }) => e.status === 422);
  assert.throws(() => resolveOptions({ truncation_direction: 'up' }, {}), /right or left/);
  // Unsaid, the direction is left to the model's truncation_side (the reranker fills it in).
  assert.equal(resolveOptions({}, {}).direction, undefined);
  assert.equal(resolveOptions({ truncation_direction: 'Left' }, {}).direction, 'left');
});

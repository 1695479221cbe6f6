import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvRow, parseCsv } from '../../src/http/csv';
import { requestFormat, responseFormat } from '../../src/http/media';
import { Slicer } from '../../src/http/slices';
import { parseCustomAttributes, resolveOptions } from '../../src/http/options';

test('CSV follows RFC 4180: quotes, escaped quotes, commas and newlines inside quotes, CRLF, lone CR', async () => {
  const slicer = new Slicer();
  const rows = await parseCsv('query,document\r\n"a, b","say ""hi"""\nq,"two\nlines"\rx,\n', 100, slicer);
  assert.deepEqual(rows.map((r) => r.fields), [['query', 'document'], ['a, b', 'say "hi"'], ['q', 'two\nlines'], ['x', '']]);
  assert.deepEqual(rows.map((r) => r.line), [1, 2, 3, 5]);
  await assert.rejects(parseCsv('q,"open', 100, slicer), /not closed/);
  assert.equal(csvRow(['x', 'a,b', 'q"q', 1.5]), 'x,"a,b","q""q",1.5');
});

test('CSV is strict where RFC 4180 is: a quote inside an unquoted field, text after a closing quote', async () => {
  const slicer = new Slicer();
  await assert.rejects(parseCsv('q,a"b\n', 100, slicer), (e: { status: number; message: string }) => e.status === 422 && /line 1: a quote inside an unquoted field/.test(e.message));
  await assert.rejects(parseCsv('q,ok\nq,"a"x\n', 100, slicer), (e: { status: number; message: string }) => e.status === 422 && /line 2: text after a closing quote/.test(e.message));
});

test('CSV stops at the row budget with a 413 naming MAX_RECORDS', async () => {
  await assert.rejects(parseCsv('q,d\n'.repeat(11), 10, new Slicer()), (e: { status: number; message: string }) => e.status === 413 && /MAX_RECORDS/.test(e.message));
  assert.equal((await parseCsv('q,d\n'.repeat(10), 10, new Slicer())).length, 10);
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

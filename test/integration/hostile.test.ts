/**
 * Hostile inputs (issue 11's red-team findings, as classes): requests built to make the server
 * do far more work than their size, to hold memory or sockets, or to kill it. Against the real
 * server process (demo model), for every case: the process is alive after; /ping, probed every
 * 100 ms during the request, never takes over PING_MAX_MS; the server's peak RSS growth stays
 * under RSS_MAX_MB (read from /proc, not this process); the answer has its documented status and
 * a bounded size; and a normal request right after succeeds. Gzip variants of the amplifying
 * payloads are included (Content-Encoding is supported; decompressed bytes count).
 */
import assert from 'node:assert/strict';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { measured, smallBehindLarge } from '../helpers/hostile';
import { ensureModel } from '../helpers/models';
import { postJson, startServer, type TestServer } from '../helpers/server';

/** SageMaker fails a health check at 2 s; the bound leaves a wide margin on a quiet 2-core machine. */
const PING_MAX_MS = 500;
/** Peak RSS growth of the server per case (the red-team payloads reached 1.4 to 5.6 GB). */
const RSS_MAX_MB = 200;

const QUERY = 'What is the capital of France?';
const PARIS = 'Paris is the capital and largest city of France.';
const BERLIN = 'Berlin is the capital of Germany.';
const JL = { 'content-type': 'application/jsonlines' };
const JSON_CT = { 'content-type': 'application/json' };

interface Answer {
  readonly status: number;
  readonly bytes: number;
  readonly text: string;
  readonly json: any;
}

interface Case {
  readonly name: string;
  /** Builds the payload (before the probes start, so this process stays idle while measuring). */
  readonly prepare?: () => unknown;
  readonly run: (payload: any) => Promise<Answer>;
  readonly status: number;
  readonly type?: string;
  readonly msg?: RegExp;
  /** Answer size bound in bytes (default 4 KiB: an error). */
  readonly maxBytes?: number;
  readonly check?: (a: Answer) => void;
}

let s: TestServer;

async function send(path: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  const r = await fetch(`${s.url}${path}`, { method: 'POST', headers, body });
  const buf = Buffer.from(await r.arrayBuffer());
  const text = buf.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, bytes: buf.length, text, json };
}

const gz = (h: Record<string, string>): Record<string, string> => ({ ...h, 'content-encoding': 'gzip' });
const lines = (text: string): string[] => text.trimEnd().split('\n');

/** n object documents, each with the given own fields. */
function objectDocs(n: number, fields: Record<string, string>): Array<Record<string, string>> {
  return Array.from({ length: n }, (_, i) => ({ ...fields, id: String(i) }));
}

const cases: Case[] = [];
const add = (c: Case): void => void cases.push(c);

// Finding 1: JSON Lines of blank lines (amplification: each blank line was an error line).
add({ name: 'F1 JSON Lines: 5,000,000 blank lines + a record, gzip (5 KB on the wire)', prepare: () => gzipSync('\n'.repeat(5_000_000) + `{"query":"q","texts":["d"]}\n`), run: (b) => send('/invocations', b, gz(JL)), status: 413, type: 'PayloadTooLarge', msg: /MAX_RECORDS/ });
add({ name: 'F1 JSON Lines: 1,000,000 blank lines + a record (1 MB)', prepare: () => '\n'.repeat(1_000_000) + `{"query":"q","texts":["d"]}\n`, run: (b) => send('/invocations', b, JL), status: 413, type: 'PayloadTooLarge', msg: /MAX_RECORDS/ });
add({ name: 'F1 JSON Lines: blank lines, deflate', prepare: () => deflateSync('\n'.repeat(2_000_000)), run: (b) => send('/invocations', b, { ...JL, 'content-encoding': 'deflate' }), status: 413, type: 'PayloadTooLarge', msg: /MAX_RECORDS/ });
add({ name: 'F1 JSON Lines: blank lines, br', prepare: () => brotliCompressSync('\n'.repeat(2_000_000)), run: (b) => send('/invocations', b, { ...JL, 'content-encoding': 'br' }), status: 413, type: 'PayloadTooLarge', msg: /MAX_RECORDS/ });
add({ name: 'F1 gzip bomb: 64 MB of spaces in 64 KB, decompressed bytes count', prepare: () => gzipSync(' '.repeat(64 * 1024 * 1024)), run: (b) => send('/rerank', b, gz(JSON_CT)), status: 413, type: 'PayloadTooLarge', msg: /decompressed/ });
add({ name: 'F1 CSV: 1,000,000 blank lines, gzip', prepare: () => gzipSync('\r\n'.repeat(1_000_000)), run: (b) => send('/invocations', b, gz({ 'content-type': 'text/csv' })), status: 413, type: 'PayloadTooLarge', msg: /MAX_RECORDS/ });
add({ name: 'F1 application/json: 1,000,000 leading blank lines then one object is one request', prepare: () => '\n'.repeat(1_000_000) + JSON.stringify({ query: QUERY, texts: [PARIS] }), run: (b) => send('/invocations', b, JSON_CT), status: 200, maxBytes: 200 });
add({ name: 'F1 an unknown Content-Encoding is a 415', run: () => send('/rerank', 'x', { ...JSON_CT, 'content-encoding': 'compress' }), status: 415, type: 'UnsupportedMediaType', msg: /gzip/ });

// Finding 2: rank_fields multiplied by documents on the main thread.
add({
  name: 'F2 /v1/rerank: 4,096 object documents x 700,000 rank_fields (2.8 MB, gzip)',
  prepare: () => gzipSync(JSON.stringify({ query: 'q', documents: objectDocs(4096, { a: 'x' }), rank_fields: new Array(700_000).fill('a') })),
  run: (b) => send('/v1/rerank', b, gz(JSON_CT)),
  status: 422,
  type: 'Validation',
  msg: /MAX_RANK_FIELDS=64/,
});
add({
  name: 'F2 /v1/rerank: 100 documents x 100,000 distinct rank_fields',
  prepare: () => JSON.stringify({ query: 'q', documents: objectDocs(100, { f1: 'x' }), rank_fields: Array.from({ length: 100_000 }, (_, i) => `f${i}`) }),
  run: (b) => send('/v1/rerank', b, JSON_CT),
  status: 422,
  type: 'Validation',
  msg: /rank_fields has 100000 names.*MAX_RANK_FIELDS/,
});
add({
  name: 'F2 /invocations (Cohere shape in JSON Lines): 700,000 rank_fields in a record',
  prepare: () => gzipSync(JSON.stringify({ query: 'q', documents: objectDocs(100, { a: 'x' }), rank_fields: new Array(700_000).fill('a') }) + '\n'),
  run: (b) => send('/invocations', b, gz(JL)),
  status: 200,
  maxBytes: 1024,
  check: (a) => assert.match(a.text, /MAX_RANK_FIELDS/),
});

// The cross product of /rerank/multi: queries x documents pairs, refused from the two counts before
// any pair is built (1 MB of short strings names 10^10 pairs).
add({
  name: 'multi /rerank/multi: 100,000 queries x 100,000 documents (gzip)',
  prepare: () => gzipSync(JSON.stringify({ queries: new Array(100_000).fill('q'), documents: new Array(100_000).fill('d') })),
  run: (b) => send('/rerank/multi', b, gz(JSON_CT)),
  status: 422,
  type: 'Validation',
  msg: /10000000000 .*MAX_CLIENT_BATCH_SIZE/,
});
add({
  name: 'multi {queries, documents} on /invocations in JSON Lines: 100,000 x 100,000 (gzip)',
  prepare: () => gzipSync(JSON.stringify({ queries: new Array(100_000).fill('q'), documents: new Array(100_000).fill('d') }) + '\n'),
  run: (b) => send('/invocations', b, gz(JL)),
  status: 200,
  maxBytes: 1024,
  check: (a) => assert.match(a.text, /MAX_CLIENT_BATCH_SIZE/),
});

// Finding 3: chunk_stride at or above the window; windows counted before they are built.
const LONG = 'lorem ipsum dolor sit amet '.repeat(4000);
add({ name: 'F3 chunk_stride 10,000 (above the window) is a 422 naming chunk_stride', run: () => send('/rerank', JSON.stringify({ query: 'q', texts: [LONG], long_documents: 'chunk', chunk_stride: 10_000 }), JSON_CT), status: 422, type: 'Validation', msg: /chunk_stride 10000 is more than half/ });
add({ name: 'F3 chunk_stride one token under the window', run: () => send('/v1/rerank', JSON.stringify({ query: 'q', documents: [LONG], long_documents: 'chunk', chunk_stride: 500 }), JSON_CT), status: 422, type: 'Validation', msg: /chunk_stride 500/ });
add({
  name: 'F3 a 1.2 MB document with long_documents=chunk: the window budget refuses it before tokenizing',
  prepare: () => JSON.stringify({ query: 'q', texts: ['a '.repeat(600_000)], long_documents: 'chunk' }),
  run: (b) => send('/rerank', b, JSON_CT),
  status: 422,
  type: 'Validation',
  msg: /MAX_CHUNK_WINDOWS=1024/,
});
add({
  name: 'F3 the same, gzip (6 KB on the wire)',
  prepare: () => gzipSync(JSON.stringify({ query: 'q', documents: ['a '.repeat(600_000)], long_documents: 'chunk', chunk_stride: 0 })),
  run: (b) => send('/v1/rerank', b, gz(JSON_CT)),
  status: 422,
  type: 'Validation',
  msg: /MAX_CHUNK_WINDOWS/,
});
add({
  name: 'F3 many documents of a dozen windows each add up past the budget',
  prepare: () => JSON.stringify({ query: 'q', documents: new Array(100).fill('word '.repeat(6000)), max_chunks_per_doc: 100 }),
  run: (b) => send('/v1/rerank', b, JSON_CT),
  status: 422,
  type: 'Validation',
  msg: /MAX_CHUNK_WINDOWS/,
});

// Finding 4: a plain (truncated) document of 5.5 MB is tokenized only as far as its window needs.
add({
  name: 'F4 a 2 MB document with truncation (the default)',
  prepare: () => JSON.stringify({ query: 'capital', texts: ['paris is the capital of france and its largest city '.repeat(40_000)] }),
  run: (b) => send('/rerank', b, JSON_CT),
  status: 200,
  maxBytes: 200,
});

// Findings 5 and 6: records amplify the answer and stall the loop; many records must not be a 429.
add({ name: 'F5 JSON Lines "1\\n" x 500,000 (1 MB)', prepare: () => '1\n'.repeat(500_000), run: (b) => send('/invocations', b, JL), status: 413, type: 'PayloadTooLarge', msg: /more than 10000 records \(MAX_RECORDS/ });
add({ name: 'F5 the same, gzip', prepare: () => gzipSync('1\n'.repeat(1_400_000)), run: (b) => send('/invocations', b, gz(JL)), status: 413, type: 'PayloadTooLarge', msg: /MAX_RECORDS/ });
add({ name: 'F5 MultiRecord under application/json: 20,000 lines', prepare: () => '{"inputs":"a"}\n'.repeat(20_000), run: (b) => send('/invocations', b, JSON_CT), status: 413, type: 'PayloadTooLarge', msg: /MAX_RECORDS/ });
add({ name: 'F5 CSV of 150,000 rows (4.8 MB)', prepare: () => 'what is it,a short document here\n'.repeat(150_000), run: (b) => send('/invocations', b, { 'content-type': 'text/csv' }), status: 413, type: 'PayloadTooLarge', msg: /MAX_RECORDS/ });
add({ name: 'F5 CSV rows with quoted line breaks, 30,000 rows, gzip', prepare: () => gzipSync('q,"a\nb"\n'.repeat(30_000)), run: (b) => send('/invocations', b, gz({ 'content-type': 'text/csv' })), status: 413, type: 'PayloadTooLarge', msg: /MAX_RECORDS/ });
add({
  name: 'F5 JSON Lines "1\\n" x 9,000: an error line each, answer bounded',
  prepare: () => '1\n'.repeat(9000),
  run: (b) => send('/invocations', b, JL),
  status: 200,
  maxBytes: 9000 * 1024,
  check: (a) => {
    const out = lines(a.text);
    assert.equal(out.length, 9000);
    assert.equal(JSON.parse(out[8999]!).error_type, 'Validation');
  },
});
add({
  name: 'F6 JSON Lines: 8,500 one-pair records on an idle server are all scored (no 429)',
  prepare: () => `${JSON.stringify({ query: 'capital', texts: [PARIS] })}\n`.repeat(8500),
  run: (b) => send('/invocations', b, JL),
  status: 200,
  maxBytes: 8500 * 200,
  check: (a) => {
    const out = lines(a.text).map((l) => JSON.parse(l));
    assert.equal(out.length, 8500);
    assert.ok(out.every((r) => Array.isArray(r) && Number.isFinite(r[0].score)), 'every record scored');
  },
});
add({
  name: 'F6 CSV: 8,500 rows on an idle server are all scored (no 429)',
  prepare: () => `capital,${PARIS}\n`.repeat(8500),
  run: (b) => send('/invocations', b, { 'content-type': 'text/csv' }),
  status: 200,
  maxBytes: 8500 * 40,
  check: (a) => {
    const out = lines(a.text);
    assert.equal(out.length, 8500);
    assert.ok(out.every((l) => Number.isFinite(Number(l))), 'every row scored');
  },
});
add({ name: 'F6 /rerank with 8,193 texts is a 422 (never admissible), not a 429', prepare: () => JSON.stringify({ query: 'q', texts: new Array(8193).fill('d') }), run: (b) => send('/rerank', b, JSON_CT), status: 422, type: 'Validation', msg: /MAX_CLIENT_BATCH_SIZE/ });

// Finding 8: wrong answers.
add({ name: 'F8 pretty-printed JSON with a trailing comma under application/json is a 422, not split into lines', run: () => send('/invocations', '{\n  "query": "q",\n  "texts": ["a", "b"],\n}\n', JSON_CT), status: 422, type: 'Validation', msg: /not valid JSON/ });
add({ name: 'F8 rank_fields ["constructor"] reads own fields only: a 422', run: () => send('/v1/rerank', JSON.stringify({ query: QUERY, documents: [{ title: PARIS }], rank_fields: ['constructor'] }), JSON_CT), status: 422, type: 'Validation', msg: /none of the rank_fields/ });
add({ name: 'F8 rank_fields ["toString", "__proto__", "hasOwnProperty"]: a 422', run: () => send('/v1/rerank', JSON.stringify({ query: QUERY, documents: [{ title: PARIS }], rank_fields: ['toString', '__proto__', 'hasOwnProperty'] }), JSON_CT), status: 422, type: 'Validation', msg: /none of the rank_fields/ });

// Finding 10: the smaller items reachable with fetch.
add({
  name: 'F10 CR-only JSON Lines are split',
  run: () => send('/invocations', [{ query: QUERY, texts: [PARIS] }, { query: QUERY, texts: [BERLIN] }, { inputs: 5 }].map((x) => JSON.stringify(x)).join('\r') + '\r', JL),
  status: 200,
  maxBytes: 2048,
  check: (a) => {
    const out = lines(a.text).map((l) => JSON.parse(l));
    assert.equal(out.length, 3);
    assert.ok(Array.isArray(out[0]) && Array.isArray(out[1]));
    assert.equal(out[2].error_type, 'Validation');
  },
});
add({ name: 'F10 CSV a"b (a quote in an unquoted field) is a 422', run: () => send('/invocations', 'q,ok\nq,a"b\n', { 'content-type': 'text/csv' }), status: 422, type: 'Validation', msg: /line 2: a quote inside an unquoted field/ });
add({ name: 'F10 CSV "a"x (text after a closing quote) is a 422', run: () => send('/invocations', 'q,"a"x\n', { 'content-type': 'text/csv' }), status: 422, type: 'Validation', msg: /line 1: text after a closing quote/ });
add({
  name: 'F10 UTF-16LE JSON Lines with one bad line: only that line fails',
  run: () => {
    const good = Buffer.from(`${JSON.stringify({ query: QUERY, texts: [PARIS] })}\n`, 'utf16le');
    const bad = Buffer.concat([Buffer.from('{"query": "caf', 'utf16le'), Buffer.from([0x00, 0xd8]), Buffer.from('", "texts": ["x"]}\n', 'utf16le')]); // a lone high surrogate
    return send('/invocations', Buffer.concat([good, bad, good]), { 'content-type': 'application/jsonlines; charset=utf-16le' });
  },
  status: 200,
  maxBytes: 2048,
  check: (a) => {
    const out = lines(a.text).map((l) => JSON.parse(l));
    assert.equal(out.length, 3);
    assert.ok(Array.isArray(out[0]) && Array.isArray(out[2]), a.text);
    assert.equal(out[1].error_type, 'Validation');
  },
});
add({
  name: 'F10 /endpoints/%ZZ/invocations gets the ModelError envelope of that route',
  run: () => send('/endpoints/%ZZ/invocations', '{"inputs": 5}', JSON_CT),
  status: 424,
  check: (a) => {
    assert.equal(a.json.ErrorCode, 'CLIENT_ERROR_FROM_MODEL');
    assert.equal(a.json.OriginalStatusCode, 422);
  },
});

describe('hostile inputs: bounded work, /ping alive, never die', () => {
  before(async () => {
    s = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }) } });
  });
  after(async () => {
    await s?.stop();
  });

  const normal = async (): Promise<void> => {
    const r = await postJson(`${s.url}/rerank`, { query: QUERY, texts: [BERLIN, PARIS] });
    assert.equal(r.status, 200, r.text);
  };

  for (const c of cases) {
    it(`${c.name} -> ${c.status}${c.type ? ` ${c.type}` : ''}`, async () => {
      // Encoded to bytes here: encoding megabytes inside fetch would stall this process's probes.
      const prepared = c.prepare?.();
      const payload = typeof prepared === 'string' ? Buffer.from(prepared) : prepared;
      const m = await measured(s.url, s.proc.pid!, () => c.run(payload));
      const a = m.result;
      const ping = m.ping;
      const growth = m.rssMb;
      // One line per case for the closing report: status, time, peak RSS growth, slowest /ping.
      console.log(`# hostile | ${c.name} | ${a.status} | ${m.ms.toFixed(0)} ms | +${growth.toFixed(0)} MiB RSS | ping max ${ping.maxMs.toFixed(0)} ms`);
      assert.equal(s.proc.exitCode, null, 'the server is alive');
      assert.equal(a.status, c.status, a.text.slice(0, 400));
      if (c.type) assert.equal(a.json?.error_type, c.type, a.text.slice(0, 400));
      if (c.msg) assert.match(a.json?.error ?? a.text, c.msg);
      assert.ok(a.bytes <= (c.maxBytes ?? 4096), `answer of ${a.bytes} bytes`);
      c.check?.(a);
      assert.ok(ping.maxMs < PING_MAX_MS, `/ping took ${ping.maxMs.toFixed(0)} ms during the request`);
      assert.equal(ping.failed, 0, `${ping.failed} /ping probes failed`);
      assert.ok(growth < RSS_MAX_MB, `server RSS grew ${growth.toFixed(0)} MiB`);
      await normal();
    });
  }

  it('F2 rank_fields with an inherited name among real ones ranks on the real ones only', async () => {
    const docs = [{ title: PARIS }, { title: BERLIN }];
    const a = await postJson(`${s.url}/v1/rerank`, { query: QUERY, documents: docs, rank_fields: ['title', 'constructor', 'toString'] });
    const b = await postJson(`${s.url}/v1/rerank`, { query: QUERY, documents: docs, rank_fields: ['title'] });
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.json.results, b.json.results);
  });

  it('F4 tokenizing is fair: a small request overtakes a large one already being tokenized', async () => {
    const big = Array.from({ length: 4096 }, (_, i) => `document ${i} ${'about the history of european capitals and rivers '.repeat(20)}`);
    const { large, small, order } = await smallBehindLarge(
      () => postJson(`${s.url}/rerank`, { query: QUERY, texts: big }),
      () => postJson(`${s.url}/rerank`, { query: QUERY, texts: [PARIS] }),
    );
    assert.equal(small.status, 200, small.text);
    assert.equal(large.status, 200);
    assert.deepEqual(order, ['small', 'large']);
  });

  it('F4 a request whose client left stops using the tokenizer and the model', async () => {
    const scraped = async (): Promise<number> => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      return Number(/^reranker_batch_pairs_sum(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? NaN);
    };
    const before = await scraped();
    const big = Array.from({ length: 4096 }, (_, i) => `document ${i} ${'about the history of european capitals and rivers '.repeat(20)}`);
    const controller = new AbortController();
    const gone = fetch(`${s.url}/rerank`, { method: 'POST', headers: JSON_CT, body: JSON.stringify({ query: QUERY, texts: big }), signal: controller.signal }).catch(() => 'aborted');
    await new Promise((r) => setTimeout(r, 400));
    controller.abort();
    assert.equal(await gone, 'aborted');
    // Whatever was running finishes its slice; nothing more of that request is scored after.
    await new Promise((r) => setTimeout(r, 1500));
    const settled = await scraped();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await scraped(), settled, 'no pairs scored once the request was dropped');
    assert.ok(settled - before < 4096, `${settled - before} of 4096 pairs were scored for a request whose client left`);
    await normal();
  });

  it('no MaxListenersExceededWarning and no crash in the server log after all of it', async () => {
    assert.equal(s.proc.exitCode, null);
    const bad = s.logs.filter((l) => /MaxListenersExceededWarning|heap out of memory|uncaught|Invalid string length/i.test(l));
    assert.deepEqual(bad, []);
  });
});

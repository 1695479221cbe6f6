/**
 * Bad input, table-driven, against the real server process (demo model): every case gets its
 * documented status and error_type with a clear message, no case gets a 5xx, and the next valid
 * request after each case is still served. Malformed JSON, wrong types for every field of every
 * route and dialect, empty inputs, size limits, invalid UTF-8, deep nesting, NaN / Infinity,
 * duplicate keys, lying Content-Length and other raw-socket abuse, media types and charsets, CSV
 * quoting, JSON Lines with bad lines, and Unicode edge cases (which must score, with finite scores).
 * A second server with a short headersTimeout takes the slowloris case.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../helpers/models';
import { postJson, startServer, type TestServer } from '../helpers/server';
import { rawHttp } from '../helpers/hostile';

interface Res {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly json: any;
}

interface Case {
  readonly cat: string;
  readonly name: string;
  readonly run: () => Promise<Res>;
  /** Expected status; 0 means "no HTTP answer, the connection is closed" (raw sockets). */
  readonly status: number;
  readonly type?: string;
  /** What the error message must say (the fault and, where it helps, what is accepted). */
  readonly msg?: RegExp;
  readonly check?: (r: Res) => void;
}

const QUERY = 'What is the capital of France?';
const PARIS = 'Paris is the capital and largest city of France.';
const BERLIN = 'Berlin is the capital of Germany.';
const JSON_CT = { 'content-type': 'application/json' };

let url = '';
let port = 0;

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function send(path: string, body: string | Uint8Array, headers: Record<string, string> = JSON_CT, method = 'POST'): Promise<Res> {
  const r = await fetch(`${url}${path}`, { method, headers, ...(method === 'GET' ? {} : { body }) });
  const text = await r.text();
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', text, json: parse(text) };
}

const post = (path: string, body: unknown, headers: Record<string, string> = JSON_CT): Promise<Res> => send(path, typeof body === 'string' ? body : JSON.stringify(body), headers);

/** The statuses of the HTTP responses in a raw reply, and the first body. */
function rawResponses(text: string): { statuses: number[]; firstBody: string } {
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) return { statuses, firstBody: '' };
  // With a Content-Length, the first body ends there (another response may follow on the socket).
  const length = /content-length: (\d+)/i.exec(text.slice(0, headEnd))?.[1];
  const rest = text.slice(headEnd + 4);
  return { statuses, firstBody: length === undefined ? rest : rest.slice(0, Number(length)) };
}

function rawRes(text: string, closed: boolean): Res {
  const { statuses, firstBody } = rawResponses(text);
  const head = text.slice(0, Math.max(0, text.indexOf('\r\n\r\n')));
  const ct = /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '';
  // A chunked body: the JSON object sits between the chunk-size lines.
  const body = firstBody.includes('{') ? firstBody.slice(firstBody.indexOf('{'), firstBody.lastIndexOf('}') + 1) : firstBody;
  return { status: statuses[0] ?? (closed ? 0 : -1), contentType: ct, text, json: parse(body) };
}

/** Every score in an answer (any shape), for "finite scores" checks. */
function scoresIn(v: unknown, out: number[] = []): number[] {
  if (Array.isArray(v)) v.forEach((x) => scoresIn(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if ((k === 'score' || k === 'relevance_score') && typeof x === 'number') out.push(x);
      else scoresIn(x, out);
    }
  }
  return out;
}

function finiteScores(min = 1): (r: Res) => void {
  return (r) => {
    const s = scoresIn(r.json);
    assert.ok(s.length >= min, `expected at least ${min} scores: ${r.text.slice(0, 300)}`);
    for (const x of s) assert.ok(Number.isFinite(x), `score ${x} is not finite`);
  };
}

function jsonLines(r: Res): any[] {
  return r.text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
}

/** JSON Lines answers: one line per record; the records at `bad` are error objects of `type`, the others score. */
function linesCheck(n: number, bad: Record<number, string>): (r: Res) => void {
  return (r) => {
    const lines = jsonLines(r);
    assert.equal(lines.length, n, r.text);
    lines.forEach((l, i) => {
      if (bad[i] !== undefined) {
        assert.equal(l.error_type, bad[i], `line ${i + 1}: ${JSON.stringify(l)}`);
        assert.ok(typeof l.error === 'string' && l.error.length > 5, `line ${i + 1} has a message`);
      } else {
        assert.equal(l.error, undefined, `line ${i + 1}: ${JSON.stringify(l)}`);
        finiteScores()({ status: 200, contentType: '', text: '', json: l });
      }
    });
  };
}

/** CSV answers: one line per row; `bad` rows are "error: Type: ..." lines, `header` the score header. */
function csvCheck(n: number, bad: number[] = [], header = false): (r: Res) => void {
  return (r) => {
    assert.match(r.contentType, /text\/csv/);
    const lines = r.text.trimEnd().split('\n');
    assert.equal(lines.length, n, r.text);
    lines.forEach((l, i) => {
      if (header && i === 0) assert.equal(l, 'score');
      else if (bad.includes(i)) assert.match(l, /^"?error: Validation: /, `row ${i + 1}: ${l}`);
      else assert.ok(Number.isFinite(Number(l)), `row ${i + 1} is a score: ${l}`);
    });
  };
}

const deep = (n: number, open = '[', close = ']', inner = ''): string => open.repeat(n) + inner + close.repeat(n);
const deepObject = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const rerankWith = (extra: string): string => `{"query": ${JSON.stringify(QUERY)}, "texts": [${JSON.stringify(PARIS)}]${extra}}`;
const bytes = (...parts: Array<string | number[]>): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

const INVALID_JSON = /not valid JSON/;
const UTF8 = /not valid UTF-8.*byte \d+/;
const DEPTH = /nested deeper than 128/;

function cases(): Case[] {
  const c: Case[] = [];
  const add = (cat: string, name: string, run: () => Promise<Res>, status: number, type?: string, msg?: RegExp, check?: (r: Res) => void): void => {
    c.push({ cat, name, run, status, ...(type ? { type } : {}), ...(msg ? { msg } : {}), ...(check ? { check } : {}) });
  };

  // --- Malformed JSON --------------------------------------------------------------------------
  const malformed: Array<[string, string]> = [
    ['truncated object', '{"query": '],
    ['trailing comma in array', `{"query": "q", "texts": ["a",]}`],
    ['trailing comma in object', `{"query": "q", "texts": ["a"],}`],
    ['single quotes', `{'query': 'q', 'texts': ['a']}`],
    ['unquoted keys', `{query: "q", texts: ["a"]}`],
    ['missing comma', `{"query": "q" "texts": ["a"]}`],
    ['extra closing brace', `{"query": "q", "texts": ["a"]}}`],
    ['trailing garbage', `{"query": "q", "texts": ["a"]} xyz`],
    ['a comment', `// the query\n{"query": "q", "texts": ["a"]}`],
    ['raw control character in a string', `{"query": "q\u0001", "texts": ["a"]}`],
    ['raw newline in a string', `{"query": "two\nlines", "texts": ["a"]}`.replace('\\n', '\n')],
    ['bad escape', `{"query": "\\x41", "texts": ["a"]}`],
    ['short \\u escape', `{"query": "\\u12", "texts": ["a"]}`],
    ['bare word', 'undefined'],
    ['leading zero number', rerankWith(', "top_n": 01')],
    ['NaN literal', rerankWith(', "top_n": NaN')],
    ['Infinity literal', rerankWith(', "top_n": Infinity')],
    ['-Infinity literal', rerankWith(', "top_n": -Infinity')],
    ['hex number', rerankWith(', "top_n": 0x10')],
    ['two objects on one line', `{"query": "q", "texts": ["a"]}{"query": "q", "texts": ["b"]}`],
    ['an unterminated string', `{"query": "q, "texts": ["a"]}`],
    ['only an opening bracket', '['],
  ];
  for (const [name, body] of malformed) add('malformed JSON', `/rerank: ${name}`, () => post('/rerank', body), 422, 'Validation', INVALID_JSON);
  add('malformed JSON', '/v1/rerank: trailing comma', () => post('/v1/rerank', `{"query": "q", "documents": ["a",]}`), 422, 'Validation', INVALID_JSON);
  add('malformed JSON', '/v2/rerank: NaN', () => post('/v2/rerank', `{"query": "q", "documents": ["a"], "top_n": NaN}`), 422, 'Validation', INVALID_JSON);
  add('malformed JSON', '/predict: truncated', () => post('/predict', `{"inputs": ["a", "b"`), 422, 'Validation', INVALID_JSON);
  add('malformed JSON', '/invocations: truncated', () => post('/invocations', `{"query": "q", "texts": [`), 422, 'Validation', INVALID_JSON);
  add('malformed JSON', '/invocations: Infinity', () => post('/invocations', `{"inputs": [["q", "d"]], "parameters": {"top_k": Infinity}}`), 422, 'Validation', INVALID_JSON);
  add('malformed JSON', '/rerank: whitespace only', () => post('/rerank', ' \n\t '), 400, 'Empty', /empty/);
  add('malformed JSON', '/invocations: empty body', () => post('/invocations', ''), 400, 'Empty', /empty/);
  add('malformed JSON', '/rerank: a JSON array body', () => post('/rerank', '[]'), 422, 'Validation', /expected object/);
  add('malformed JSON', '/rerank: a JSON string body', () => post('/rerank', '"hello"'), 422, 'Validation', /expected object/);
  add('malformed JSON', '/rerank: null body', () => post('/rerank', 'null'), 422, 'Validation', /expected object/);
  add('malformed JSON', '/invocations: a number body', () => post('/invocations', '42'), 422, 'Validation', /must be a JSON object.*accepted shapes/);
  add('malformed JSON', '/invocations: an array body', () => post('/invocations', '[{"query": "q", "texts": ["a"]}]'), 422, 'Validation', /must be a JSON object/);
  add('malformed JSON', '/invocations: no known shape', () => post('/invocations', { question: 'q', passages: ['a'] }), 422, 'Validation', /matches no accepted shape.*query.*texts.*documents.*inputs/);

  // --- Deep nesting (must not overflow the stack anywhere: parser, validation, encoder) ---------
  add('deep nesting', '/rerank: 100,000 unclosed [', () => post('/rerank', '['.repeat(100_000)), 422, 'Validation', DEPTH);
  add('deep nesting', '/rerank: 100,000 balanced [ ]', () => post('/rerank', deep(100_000)), 422, 'Validation', DEPTH);
  add('deep nesting', '/rerank: texts nested 100,000 deep', () => post('/rerank', `{"query": "q", "texts": ${deep(100_000, '[', ']', '"a"')}}`), 422, 'Validation', DEPTH);
  add('deep nesting', '/rerank: an unknown field holding 100,000 nested objects', () => post('/rerank', rerankWith(`, "meta": ${deepObject(100_000)}`)), 422, 'Validation', DEPTH);
  add('deep nesting', '/v1/rerank: a document object 100,000 deep, returned', () => post('/v1/rerank', `{"query": "q", "documents": [{"text": "a", "meta": ${deepObject(100_000)}}], "return_documents": true}`), 422, 'Validation', DEPTH);
  add('deep nesting', '/v1/rerank: rank_fields on a deep field', () => post('/v1/rerank', `{"query": "q", "documents": [{"title": ${deepObject(5_000)}}], "rank_fields": ["title"]}`), 422, 'Validation', DEPTH);
  add('deep nesting', '/invocations: inputs 100,000 deep', () => post('/invocations', `{"inputs": ${deep(100_000)}}`), 422, 'Validation', DEPTH);
  add('deep nesting', '/invocations JSON Lines: one deep line, the others score', () => post('/invocations', [rerankWith(''), `{"inputs": ${deep(100_000)}}`, rerankWith('')].join('\n'), { 'content-type': 'application/jsonlines' }), 200, undefined, undefined, linesCheck(3, { 1: 'Validation' }));
  add('deep nesting', '/rerank: 100 levels in an unknown field are fine', () => post('/rerank', rerankWith(`, "meta": ${deepObject(100)}`)), 200, undefined, undefined, finiteScores());

  // --- Wrong types, /rerank ------------------------------------------------------------------
  const rerankBad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['query a number', { query: 42, texts: [PARIS] }, /query: .*expected string/],
    ['query null', { query: null, texts: [PARIS] }, /query: .*expected string/],
    ['query an array', { query: [QUERY], texts: [PARIS] }, /query: .*expected string/],
    ['query an object', { query: { text: QUERY }, texts: [PARIS] }, /query: .*expected string/],
    ['query missing', { texts: [PARIS] }, /query: .*expected string/],
    ['texts a string', { query: QUERY, texts: PARIS }, /texts: .*expected array/],
    ['texts missing', { query: QUERY }, /texts: .*expected array/],
    ['texts null', { query: QUERY, texts: null }, /texts: .*expected array/],
    ['texts of numbers', { query: QUERY, texts: [1, 2] }, /texts\.0: .*expected string/],
    ['texts with a null', { query: QUERY, texts: [PARIS, null] }, /texts\.1: .*expected string/],
    ['texts of arrays', { query: QUERY, texts: [[PARIS]] }, /texts\.0: .*expected string/],
    ['texts of objects', { query: QUERY, texts: [{ text: PARIS }] }, /texts\.0: .*expected string/],
    ['raw_scores a string', { query: QUERY, texts: [PARIS], raw_scores: 'true' }, /raw_scores: .*expected boolean/],
    ['return_text a number', { query: QUERY, texts: [PARIS], return_text: 1 }, /return_text: .*expected boolean/],
    ['truncate a string', { query: QUERY, texts: [PARIS], truncate: 'false' }, /truncate: .*expected boolean/],
    ['truncation_direction unknown', { query: QUERY, texts: [PARIS], truncation_direction: 'up' }, /truncation_direction: .*right.*left/],
    ['truncation_direction a number', { query: QUERY, texts: [PARIS], truncation_direction: 1 }, /truncation_direction/],
    ['top_n zero', { query: QUERY, texts: [PARIS], top_n: 0 }, /top_n: .*>=\s?1/],
    ['top_n negative', { query: QUERY, texts: [PARIS], top_n: -3 }, /top_n: /],
    ['top_n fractional', { query: QUERY, texts: [PARIS], top_n: 1.5 }, /top_n: .*int/],
    ['top_n a string', { query: QUERY, texts: [PARIS], top_n: '3' }, /top_n: .*expected number/],
    ['top_n a boolean', { query: QUERY, texts: [PARIS], top_n: true }, /top_n: .*expected number/],
    ['long_documents unknown', { query: QUERY, texts: [PARIS], long_documents: 'split' }, /long_documents: .*truncate.*chunk/],
    ['chunk_stride negative', { query: QUERY, texts: [PARIS], long_documents: 'chunk', chunk_stride: -1 }, /chunk_stride: /],
    ['return_chunk_offsets a string', { query: QUERY, texts: [PARIS], return_chunk_offsets: 'yes' }, /return_chunk_offsets: .*expected boolean/],
    ['return_chunk_offsets without chunking', { query: QUERY, texts: [PARIS], return_chunk_offsets: true }, /return_chunk_offsets needs long_documents="chunk"/],
  ];
  for (const [name, body, msg] of rerankBad) add('wrong types /rerank', `/rerank: ${name}`, () => post('/rerank', body), 422, 'Validation', msg);
  add('empty', '/rerank: texts empty', () => post('/rerank', { query: QUERY, texts: [] }), 400, 'Empty', /`texts` is empty/);
  add('empty', '/rerank: an empty query string is scored (only the document speaks)', () => post('/rerank', { query: '', texts: [PARIS, BERLIN] }), 200, undefined, undefined, finiteScores(2));
  add('empty', '/rerank: empty document strings are scored', () => post('/rerank', { query: QUERY, texts: ['', PARIS, ''] }), 200, undefined, undefined, finiteScores(3));
  add('empty', '/rerank: whitespace-only query and texts are scored', () => post('/rerank', { query: '   ', texts: ['\t\n', ' '] }), 200, undefined, undefined, finiteScores(2));
  add('options', '/rerank: top_n larger than the texts gives all', () => post('/rerank', { query: QUERY, texts: [PARIS, BERLIN], top_n: 1e6 }), 200, undefined, undefined, finiteScores(2));
  add('options', '/rerank: top_n 1e400 (parses as Infinity)', () => post('/rerank', rerankWith(', "top_n": 1e400')), 422, 'Validation', /top_n: /);
  add('options', '/rerank: bad custom attribute top_n', () => post('/rerank', { query: QUERY, texts: [PARIS] }, { ...JSON_CT, 'x-amzn-sagemaker-custom-attributes': 'top_n=abc' }), 422, 'Validation', /custom attribute top_n=abc must be a positive integer/);
  add('options', '/rerank: bad custom attribute raw_scores', () => post('/rerank', { query: QUERY, texts: [PARIS] }, { ...JSON_CT, 'x-amzn-sagemaker-custom-attributes': 'raw_scores=maybe' }), 422, 'Validation', /raw_scores=maybe must be true or false/);
  add('options', '/rerank: bad custom attribute truncation_direction', () => post('/rerank', { query: QUERY, texts: [PARIS] }, { ...JSON_CT, 'x-amzn-sagemaker-custom-attributes': 'truncation_direction=up' }), 422, 'Validation', /truncation_direction must be right or left/);

  // --- Wrong types, /predict -----------------------------------------------------------------
  const predictBad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['inputs missing', {}, /inputs: /],
    ['inputs a number', { inputs: 42 }, /inputs: /],
    ['inputs null', { inputs: null }, /inputs: /],
    ['inputs an object', { inputs: { text: 'a' } }, /inputs: /],
    ['inputs of numbers', { inputs: [1, 2] }, /inputs\.0/],
    ['inputs with a triple', { inputs: [['a', 'b', 'c']] }, /inputs\.0/],
    ['inputs with an empty pair', { inputs: [['a', 'b'], []] }, /inputs\.1/],
    ['inputs with a numeric pair', { inputs: [[1, 2]] }, /inputs\.0\.0: .*expected string/],
    ['raw_scores a string', { inputs: 'a', raw_scores: 'no' }, /raw_scores: .*expected boolean/],
    ['truncation_direction a number', { inputs: 'a', truncation_direction: 5 }, /truncation_direction/],
  ];
  for (const [name, body, msg] of predictBad) add('wrong types /predict', `/predict: ${name}`, () => post('/predict', body), 422, 'Validation', msg);
  add('empty', '/predict: inputs empty', () => post('/predict', { inputs: [] }), 400, 'Empty', /`inputs` is empty/);
  add('empty', '/predict: an empty text is scored', () => post('/predict', { inputs: '' }), 200, undefined, undefined, finiteScores());

  // --- Wrong types, /v1/rerank and /v2/rerank -------------------------------------------------
  const v1Bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['query a number', { query: 1, documents: [PARIS] }, /query: .*expected string/],
    ['documents missing', { query: QUERY }, /documents: .*expected array/],
    ['documents a string', { query: QUERY, documents: PARIS }, /documents: .*expected array/],
    ['documents of numbers', { query: QUERY, documents: [1] }, /documents\.0/],
    ['documents with a null', { query: QUERY, documents: [PARIS, null] }, /documents\.1/],
    ['a document object without text', { query: QUERY, documents: [{ title: 'x' }] }, /documents\.0 is an object without a string "text" field/],
    ['a document text that is a number', { query: QUERY, documents: [{ text: 5 }] }, /documents\.0\.text: .*expected string/],
    ['top_n zero', { query: QUERY, documents: [PARIS], top_n: 0 }, /top_n: /],
    ['top_n a string', { query: QUERY, documents: [PARIS], top_n: '1' }, /top_n: .*expected number/],
    ['return_documents a string', { query: QUERY, documents: [PARIS], return_documents: 'yes' }, /return_documents: .*expected boolean/],
    ['rank_fields empty', { query: QUERY, documents: [{ text: PARIS }], rank_fields: [] }, /rank_fields: /],
    ['rank_fields a string', { query: QUERY, documents: [{ text: PARIS }], rank_fields: 'text' }, /rank_fields: .*expected array/],
    ['rank_fields naming absent fields', { query: QUERY, documents: [{ text: PARIS }], rank_fields: ['title'] }, /documents\.0 has none of the rank_fields \(title\)/],
    ['max_chunks_per_doc zero', { query: QUERY, documents: [PARIS], max_chunks_per_doc: 0 }, /max_chunks_per_doc: /],
    ['max_tokens_per_doc 1', { query: QUERY, documents: [PARIS], max_tokens_per_doc: 1 }, /max_tokens_per_doc: /],
    ['model a number', { query: QUERY, documents: [PARIS], model: 5 }, /model: .*expected string/],
  ];
  for (const [name, body, msg] of v1Bad) add('wrong types /v1/rerank', `/v1/rerank: ${name}`, () => post('/v1/rerank', body), 422, 'Validation', msg);
  const v2Bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['documents as objects (v2 takes strings)', { query: QUERY, documents: [{ text: PARIS }] }, /documents\.0: .*expected string/],
    ['query null', { query: null, documents: [PARIS] }, /query: .*expected string/],
    ['priority a string', { query: QUERY, documents: [PARIS], priority: 'high' }, /priority: .*expected number/],
    ['max_tokens_per_doc a string', { query: QUERY, documents: [PARIS], max_tokens_per_doc: '512' }, /max_tokens_per_doc: .*expected number/],
    ['truncate a number', { query: QUERY, documents: [PARIS], truncate: 0 }, /truncate: .*expected boolean/],
  ];
  for (const [name, body, msg] of v2Bad) add('wrong types /v2/rerank', `/v2/rerank: ${name}`, () => post('/v2/rerank', body), 422, 'Validation', msg);
  add('empty', '/v1/rerank: documents empty', () => post('/v1/rerank', { query: QUERY, documents: [] }), 400, 'Empty', /`documents` is empty/);
  add('empty', '/v2/rerank: documents empty', () => post('/v2/rerank', { query: QUERY, documents: [] }), 400, 'Empty', /`documents` is empty/);

  // --- Wrong types, /invocations in each dialect ----------------------------------------------
  const invBad: Array<[string, unknown, RegExp]> = [
    ['TEI rerank: texts a string', { query: QUERY, texts: PARIS }, /invalid rerank request: texts: /],
    ['TEI rerank: query a number', { query: 7, texts: [PARIS] }, /invalid rerank request: query: /],
    ['Cohere: documents a number', { query: QUERY, documents: 5 }, /Cohere v1.*documents: /],
    ['Cohere: a document object without text', { query: QUERY, documents: [{ body: PARIS }] }, /documents\.0 is an object without a string "text" field/],
    ['HF pairs: a text_pair that is a number', { inputs: [{ text: QUERY, text_pair: 5 }] }, /Hugging Face pairs request: inputs\.0\.text_pair: /],
    ['HF pairs: a text that is null', { inputs: [[QUERY, PARIS], { text: null }] }, /Hugging Face pairs request: inputs\.1\.text: /],
    ['HF pairs: function_to_apply unknown', { inputs: [[QUERY, PARIS]], parameters: { function_to_apply: 'relu' } }, /parameters\.function_to_apply: .*sigmoid.*softmax.*none/],
    ['HF pairs: top_k zero', { inputs: [[QUERY, PARIS]], parameters: { top_k: 0 } }, /parameters\.top_k: /],
    ['HF pairs: parameters a string', { inputs: [[QUERY, PARIS]], parameters: 'fast' }, /parameters: .*expected object/],
    ['HF pairs: truncation unknown', { inputs: [[QUERY, PARIS]], parameters: { truncation: 'only_first' } }, /parameters\.truncation: /],
    ['TEI predict: inputs a number', { inputs: 5 }, /invalid predict request: inputs: /],
    ['TEI predict: inputs with a triple', { inputs: [['a', 'b', 'c']] }, /invalid predict request: inputs\.0/],
  ];
  for (const [name, body, msg] of invBad) add('wrong types /invocations', `/invocations ${name}`, () => post('/invocations', body), 422, 'Validation', msg);
  add('empty', '/invocations Cohere: documents empty', () => post('/invocations', { query: QUERY, documents: [] }), 400, 'Empty', /`documents` is empty/);
  add('empty', '/invocations TEI predict: inputs empty', () => post('/invocations', { inputs: [] }), 400, 'Empty', /`inputs` is empty/);

  // --- Duplicate keys: the last one wins, as JSON.parse (and serde) read them -----------------
  add('duplicate keys', 'duplicate query: the last wins', () => post('/rerank', `{"query": "nothing at all", "query": ${JSON.stringify(QUERY)}, "texts": [${JSON.stringify(BERLIN)}, ${JSON.stringify(PARIS)}]}`), 200, undefined, undefined, (r) => assert.equal(r.json[0].index, 1, r.text));
  add('duplicate keys', 'duplicate texts: the last (a number) wins and is refused', () => post('/rerank', `{"query": "q", "texts": ["a"], "texts": 5}`), 422, 'Validation', /texts: .*expected array/);

  // --- Sizes: documents per request, long strings, payload limit ----------------------------
  const many = (n: number): string[] => Array.from({ length: n }, (_, i) => `document number ${i}`);
  add('limits', '/rerank: 10,000 texts (over MAX_CLIENT_BATCH_SIZE=4096)', () => post('/rerank', { query: QUERY, texts: many(10_000) }), 422, 'Validation', /10000 documents is more than MAX_CLIENT_BATCH_SIZE=4096/);
  add('limits', '/v2/rerank: 10,000 documents', () => post('/v2/rerank', { query: QUERY, documents: many(10_000) }), 422, 'Validation', /MAX_CLIENT_BATCH_SIZE=4096/);
  add('limits', '/rerank: exactly 4096 texts are served', () => post('/rerank', { query: QUERY, texts: many(4096), top_n: 3 }), 200, undefined, undefined, finiteScores(3));
  add('limits', '/rerank: a 5 MB document is truncated to the window and scored', () => post('/rerank', { query: QUERY, texts: [`Paris is the capital of France. ${'lorem ipsum dolor sit amet '.repeat(200_000)}`.slice(0, 5_000_000), BERLIN] }), 200, undefined, undefined, finiteScores(2));
  add('limits', '/rerank: a 1 MB word without spaces is truncated and scored', () => post('/rerank', { query: QUERY, texts: ['x'.repeat(1_000_000)] }), 200, undefined, undefined, finiteScores(1));
  add('limits', '/rerank: a body over the 6 MiB limit', () => post('/rerank', { query: QUERY, texts: ['y'.repeat(7 * 1024 * 1024)] }), 413, 'PayloadTooLarge', /larger than the 6 MiB limit/);
  add('limits', '/invocations JSON Lines over the limit', () => post('/invocations', `${rerankWith('')}\n`.repeat(70_000), { 'content-type': 'application/jsonlines' }), 413, 'PayloadTooLarge', /6 MiB limit/);
  add('limits', '/rerank: truncate=false with a too-long pair', () => post('/rerank', { query: QUERY, texts: ['word '.repeat(5000)], truncate: false }), 422, 'Validation', /tokens|window|MAX_INPUT_LENGTH|longer/);

  // --- Invalid UTF-8 ----------------------------------------------------------------------------
  const utf8Bad: Array<[string, Buffer]> = [
    ['a lone continuation byte', bytes('{"query": "caf', [0x80], '", "texts": ["a"]}')],
    ['an overlong encoding', bytes('{"query": "', [0xc0, 0xaf], '", "texts": ["a"]}')],
    ['a truncated sequence', bytes('{"query": "q", "texts": ["', [0xe2, 0x82], '"]}')],
    ['a 0xFF byte', bytes('{"query": "q", "texts": ["a', [0xff], '"]}')],
    ['an encoded surrogate (CESU-8)', bytes('{"query": "q", "texts": ["', [0xed, 0xa0, 0x80], '"]}')],
    ['Latin-1 bytes sent as UTF-8', Buffer.from('{"query": "café", "texts": ["naïve"]}', 'latin1')],
  ];
  for (const [name, body] of utf8Bad) add('invalid UTF-8', `/rerank: ${name}`, () => send('/rerank', body), 422, 'Validation', UTF8);
  add('invalid UTF-8', '/invocations: invalid UTF-8 in a single JSON body', () => send('/invocations', utf8Bad[0]![1]), 422, 'Validation', UTF8);
  add('invalid UTF-8', '/invocations CSV: invalid UTF-8', () => send('/invocations', bytes('q,caf', [0xe9], '\n'), { 'content-type': 'text/csv' }), 422, 'Validation', UTF8);
  add('invalid UTF-8', '/invocations JSON Lines: a line with invalid UTF-8 gets its own error line', () => send('/invocations', bytes(rerankWith(''), '\n', '{"query": "caf', [0xe9], '", "texts": ["a"]}\n', rerankWith(''), '\n'), { 'content-type': 'application/jsonlines' }), 200, undefined, undefined, linesCheck(3, { 1: 'Validation' }));

  // --- Media types, charsets, Accept, encodings --------------------------------------------
  const okRerank = JSON.stringify({ query: QUERY, texts: [PARIS, BERLIN] });
  add('media types', '/rerank: application/xml', () => send('/rerank', '<q/>', { 'content-type': 'application/xml' }), 415, 'UnsupportedMediaType', /application\/xml is not supported.*application\/json/);
  add('media types', '/rerank: text/plain', () => send('/rerank', okRerank, { 'content-type': 'text/plain' }), 415, 'UnsupportedMediaType', /text\/plain is not supported/);
  add('media types', '/rerank: multipart/form-data', () => send('/rerank', '--x\r\n\r\n--x--', { 'content-type': 'multipart/form-data; boundary=x' }), 415, 'UnsupportedMediaType', /multipart\/form-data is not supported/);
  add('media types', '/rerank: CSV (only /invocations takes CSV)', () => send('/rerank', 'q,d\n', { 'content-type': 'text/csv' }), 415, 'UnsupportedMediaType', /this route takes application\/json.*\/invocations/);
  add('media types', '/invocations: image/png', () => send('/invocations', Buffer.from([0x89, 0x50, 0x4e, 0x47]), { 'content-type': 'image/png' }), 415, 'UnsupportedMediaType', /image\/png is not supported/);
  add('media types', '/invocations: a nonsense Content-Type', () => send('/invocations', okRerank, { 'content-type': 'nonsense' }), 415, 'UnsupportedMediaType', /not supported/);
  add('media types', 'no Content-Type is read as JSON', () => send('/rerank', Buffer.from(okRerank)), 200, undefined, undefined, finiteScores(2));
  add('media types', 'form type (curl -d) is read as JSON', () => send('/rerank', okRerank, { 'content-type': 'application/x-www-form-urlencoded' }), 200, undefined, undefined, finiteScores(2));
  for (const ct of ['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/json; charset="utf-8"', 'Application/JSON; Charset=utf8', 'text/json; charset=us-ascii']) {
    add('charsets', `/rerank: ${ct}`, () => send('/rerank', okRerank, { 'content-type': ct }), 200, undefined, undefined, finiteScores(2));
  }
  add('charsets', '/invocations: jsonlines; charset=utf-8', () => send('/invocations', `${okRerank}\n${okRerank}\n`, { 'content-type': 'application/jsonlines; charset=utf-8' }), 200, undefined, undefined, linesCheck(2, {}));
  add('charsets', '/invocations: text/csv; charset=utf-8; header=present', () => send('/invocations', 'query,document\nq,d\n', { 'content-type': 'text/csv; charset=utf-8; header=present' }), 200, undefined, undefined, csvCheck(2, [], true));
  add('charsets', '/rerank: a UTF-16LE body with charset=utf-16le is decoded', () => send('/rerank', Buffer.from(JSON.stringify({ query: 'capitale de la France ?', texts: ['Paris est la capitale.', 'Ça va ?'] }), 'utf16le'), { 'content-type': 'application/json; charset=utf-16le' }), 200, undefined, undefined, finiteScores(2));
  add('charsets', '/rerank: a Latin-1 body with charset=iso-8859-1 is decoded', () => send('/rerank', Buffer.from('{"query": "café", "texts": ["naïve"]}', 'latin1'), { 'content-type': 'application/json; charset=iso-8859-1' }), 200, undefined, undefined, finiteScores(1));
  add('charsets', '/rerank: an unknown charset', () => send('/rerank', okRerank, { 'content-type': 'application/json; charset=klingon' }), 415, 'UnsupportedMediaType', /charset klingon is not supported/);
  add('accept', '/invocations: Accept application/xml', () => send('/invocations', okRerank, { ...JSON_CT, accept: 'application/xml' }), 415, 'UnsupportedMediaType', /Accept application\/xml cannot be produced/);
  add('accept', '/rerank: Accept application/xml', () => send('/rerank', okRerank, { ...JSON_CT, accept: 'application/xml' }), 415, 'UnsupportedMediaType', /Accept application\/xml cannot be produced.*application\/json/);
  add('accept', '/v2/rerank: Accept text/csv (only /invocations writes CSV)', () => send('/v2/rerank', JSON.stringify({ query: QUERY, documents: [PARIS] }), { ...JSON_CT, accept: 'text/csv' }), 415, 'UnsupportedMediaType', /\/invocations/);
  add('accept', '/rerank: Accept */* and a browser-like list', () => send('/rerank', okRerank, { ...JSON_CT, accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }), 200, undefined, undefined, finiteScores(2));
  add('accept', '/invocations: Accept text/csv gives a CSV row', () => send('/invocations', okRerank, { ...JSON_CT, accept: 'text/csv' }), 200, undefined, undefined, (r) => assert.match(r.text, /^[\d.e-]+,[\d.e-]+\n$/));
  add('accept', '/invocations: Accept application/jsonlines; charset=utf-8', () => send('/invocations', okRerank, { ...JSON_CT, accept: 'application/jsonlines; charset=utf-8' }), 200, undefined, undefined, linesCheck(1, {}));
  add('encodings', '/rerank: a gzip body is inflated', () => send('/rerank', gzipSync(okRerank), { ...JSON_CT, 'content-encoding': 'gzip' }), 200, undefined, undefined, finiteScores(2));
  add('encodings', '/rerank: an unknown Content-Encoding', () => send('/rerank', okRerank, { ...JSON_CT, 'content-encoding': 'compress' }), 415, 'UnsupportedMediaType', /compress/);
  add('encodings', '/rerank: a corrupt gzip body', () => send('/rerank', Buffer.from('not gzip at all'), { ...JSON_CT, 'content-encoding': 'gzip' }), 422, 'Validation', /gzip|decompress|inflate|header/i);

  // --- CSV on /invocations ---------------------------------------------------------------------
  const csv = (body: string | Buffer): (() => Promise<Res>) => () => send('/invocations', body, { 'content-type': 'text/csv' });
  add('CSV', 'an unbalanced quote', csv('"capital of France,Paris\nq,d\n'), 422, 'Validation', /CSV line 1: a quoted field is not closed/);
  add('CSV', 'an unbalanced quote on a later line', csv('q,d\nq2,"d2\n'), 422, 'Validation', /CSV line 2: a quoted field is not closed/);
  add('CSV', 'commas and a newline inside quotes', csv('"capital, of France?","Paris is\nthe capital, of France."\n'), 200, undefined, undefined, csvCheck(1));
  add('CSV', 'escaped quotes', csv('"say ""capital""","""Paris"" is the capital"\n'), 200, undefined, undefined, csvCheck(1));
  add('CSV', 'an empty row in the middle gets an error row', csv('q,d\n\nq2,d2\n'), 200, undefined, undefined, csvCheck(3, [1]));
  add('CSV', 'a row with three fields gets an error row', csv('q,d\nq,d,extra\nq,d\n'), 200, undefined, undefined, csvCheck(3, [1]));
  add('CSV', 'a row with one field gets an error row', csv('lonely\nq,d\n'), 200, undefined, undefined, csvCheck(2, [0]));
  add('CSV', 'header only', csv('query,document\n'), 200, undefined, undefined, csvCheck(1, [], true));
  add('CSV', 'a BOM before the header', csv('\ufeffquery,document\nq,d\n'), 200, undefined, undefined, csvCheck(2, [], true));
  add('CSV', 'a BOM before a data row', csv('\ufeffq,d\n'), 200, undefined, undefined, csvCheck(1));
  add('CSV', 'CRLF line endings', csv('query,document\r\nq,d\r\nq2,d2\r\n'), 200, undefined, undefined, csvCheck(3, [], true));
  add('CSV', 'empty fields are scored', csv(',\n"",""\n'), 200, undefined, undefined, csvCheck(2));
  add('CSV', 'only newlines is empty', csv('\n\n\r\n'), 400, 'Empty', /empty/);
  add('CSV', 'a NUL inside a field', csv('q\u0000,d\n'), 200, undefined, undefined, csvCheck(1));

  // --- JSON Lines on /invocations (per-record errors) -------------------------------------
  const jl = (lines: string[], ct = 'application/jsonlines'): (() => Promise<Res>) => () => send('/invocations', lines.join('\n') + '\n', { 'content-type': ct });
  const good = rerankWith('');
  add('JSON Lines', 'one invalid JSON line', jl([good, '{"query": ', good]), 200, undefined, undefined, linesCheck(3, { 1: 'Validation' }));
  add('JSON Lines', 'a blank line in the middle', jl([good, '', good]), 200, undefined, undefined, linesCheck(3, { 1: 'Empty' }));
  add('JSON Lines', 'a line with a wrong type', jl([good, '{"query": 1, "texts": ["a"]}']), 200, undefined, undefined, linesCheck(2, { 1: 'Validation' }));
  add('JSON Lines', 'a line that is an array', jl(['[1, 2]', good]), 200, undefined, undefined, linesCheck(2, { 0: 'Validation' }));
  add('JSON Lines', 'a line with NaN', jl([good, '{"inputs": [["q", "d"]], "raw_scores": NaN}']), 200, undefined, undefined, linesCheck(2, { 1: 'Validation' }));
  add('JSON Lines', 'a line with empty texts', jl([good, '{"query": "q", "texts": []}']), 200, undefined, undefined, linesCheck(2, { 1: 'Empty' }));
  add('JSON Lines', 'every line bad', jl(['nope', '{}', '[]']), 200, undefined, undefined, linesCheck(3, { 0: 'Validation', 1: 'Validation', 2: 'Validation' }));
  add('JSON Lines', 'a MultiRecord batch under application/json with a bad line', jl([good, '{"inputs": 5}', '{"inputs": [["q", "d"]]}'], 'application/json'), 200, undefined, undefined, linesCheck(3, { 1: 'Validation' }));
  add('JSON Lines', 'CRLF lines and a line of 10,000 texts', () => send('/invocations', [good, JSON.stringify({ query: 'q', texts: many(10_000) }), good].join('\r\n') + '\r\n', { 'content-type': 'application/jsonlines' }), 200, undefined, undefined, linesCheck(3, { 1: 'Validation' }));

  // --- Unicode edge cases: scored, finite ----------------------------------------------------
  const unicode: Array<[string, string, string[]]> = [
    ['right-to-left text', 'ما هي عاصمة فرنسا؟', ['باريس هي عاصمة فرنسا.', 'ירושלים היא עיר']],
    ['emoji', '🇫🇷 capital? 🤔', ['Paris 🗼🥖', '😀😃😄']],
    ['zero-width joiners', 'family 👨‍👩‍👧‍👦', ['a\u200db\u200cc', '\u200d\u200d\u200d']],
    ['NUL characters', 'q\u0000q', ['\u0000', 'Paris\u0000France']],
    ['combining characters', 'cafe\u0301', ['Z\u0351\u0357\u035b\u0306a\u0310\u0359l\u0308g\u0313o', 'e\u0301'.repeat(500)]],
    ['control characters and BOM inside', '\ufeffquery\u0007', ['\u001b[31mred\u001b[0m', '\ufffe\uffff']],
    ['CJK and mixed scripts', '法国的首都是什么？', ['巴黎是法国的首都。', 'Пари́ж — столица Франции']],
    ['astral plane characters', '𝕮𝖆𝖕𝖎𝖙𝖆𝖑', ['𝓟𝓪𝓻𝓲𝓼', '𐍈𐌰𐌿']],
  ];
  for (const [name, query, texts] of unicode) add('Unicode', `/rerank: ${name}`, () => post('/rerank', { query, texts, return_text: true }), 200, undefined, undefined, (r) => {
    finiteScores(texts.length)(r);
    assert.deepEqual(new Set(r.json.map((x: { text: string }) => x.text)), new Set(texts), 'texts come back unchanged');
  });
  add('Unicode', '/rerank: lone surrogates escaped in JSON', () => post('/rerank', `{"query": "\\ud800 alone", "texts": ["\\udfff", "a\\ud83dz", "\\udc00\\ud800"]}`), 200, undefined, undefined, finiteScores(3));
  add('Unicode', '/v1/rerank: lone surrogate in a returned document', () => post('/v1/rerank', `{"query": "q", "documents": [{"text": "\\ud800"}], "return_documents": true}`), 200, undefined, undefined, finiteScores(1));
  add('Unicode', '/predict: emoji pair', () => post('/predict', { inputs: ['🇫🇷?', '🗼 Paris'] }), 200, undefined, undefined, finiteScores(1));
  add('Unicode', '/invocations HF pairs: RTL and NUL', () => post('/invocations', { inputs: [['عاصمة', 'باريس\u0000'], { text: '\ud800', text_pair: '👨‍👩‍👧' }] }), 200, undefined, undefined, finiteScores(2));
  add('Unicode', '/invocations CSV: emoji and RTL', csv('"🇫🇷 capital?","باريس"\n'), 200, undefined, undefined, csvCheck(1));
  add('Unicode', '/rerank: 5,000 zero-width joiners', () => post('/rerank', { query: '\u200d'.repeat(5000), texts: ['\u200d'.repeat(5000)] }), 200, undefined, undefined, finiteScores(1));

  // --- Routes and methods ------------------------------------------------------------------
  add('routes', 'GET /rerank', () => send('/rerank', '', {}, 'GET'), 404, 'NotFound', /no route for GET \/rerank/);
  add('routes', 'an unknown route', () => post('/rerank/extra', okRerank), 404, 'NotFound', /no route for POST \/rerank\/extra/);
  add('routes', 'a query string is ignored', () => post('/rerank?debug=1', okRerank), 200, undefined, undefined, finiteScores(2));

  // --- Raw sockets: lying Content-Length, broken framing -------------------------------------
  const head = (path: string, extra: string): string => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}\r\n`;
  add('raw sockets', 'Content-Length larger than the body, then the socket closes', async () => {
    const r = await rawHttp(port, [head('/rerank', 'Content-Length: 5000\r\n'), okRerank], { destroyAfterMs: 300 });
    return rawRes(r.text, r.closed);
  }, 0, undefined, undefined, (r) => assert.equal(r.text, '', 'nothing can be answered to a client that left'));
  // Node's HTTP parser rejects these before any route: src/http/clientError.ts answers 400/431 with
  // error_type Protocol and closes the connection.
  add('raw sockets', 'Content-Length larger than the body, half-closed', async () => {
    const r = await rawHttp(port, [head('/rerank', 'Content-Length: 5000\r\n'), okRerank], { end: true, waitMs: 5000 });
    assert.ok(r.closed, 'the server closes the connection instead of waiting forever');
    return rawRes(r.text, r.closed);
  }, 400, 'Protocol', /Content-Length|not valid HTTP|chunk/);
  add('raw sockets', 'Content-Length smaller than the body, sent at once', async () => {
    // The 10 extra bytes are read as the next request: not HTTP, so the parser answers 400 and closes.
    const r = await rawHttp(port, [head('/rerank', `Content-Length: ${okRerank.length - 10}\r\n`), okRerank], { waitMs: 3000 });
    assert.ok(r.closed);
    return rawRes(r.text, r.closed);
  }, 400, 'Protocol', /Content-Length|not valid HTTP|chunk/);
  add('raw sockets', 'Content-Length smaller than the body, the rest sent later', async () => {
    const cut = okRerank.length - 10;
    const r = await rawHttp(port, [head('/rerank', `Content-Length: ${cut}\r\n`), okRerank.slice(0, cut), 500, okRerank.slice(cut)], { waitMs: 3000 });
    return rawRes(r.text, r.closed);
  }, 422, 'Validation', INVALID_JSON, (r) => {
    const { statuses } = rawResponses(r.text);
    assert.deepEqual(statuses, [422, 400], 'the cut body is a 422, then the leftover bytes a 400');
  });
  add('raw sockets', 'Content-Length that is not a number', async () => {
    const r = await rawHttp(port, [head('/rerank', 'Content-Length: lots\r\n'), okRerank], { waitMs: 3000 });
    return rawRes(r.text, r.closed);
  }, 400, 'Protocol', /Content-Length|not valid HTTP|chunk/);
  add('raw sockets', 'Content-Length and Transfer-Encoding together', async () => {
    const r = await rawHttp(port, [head('/rerank', `Content-Length: ${okRerank.length}\r\nTransfer-Encoding: chunked\r\n`), okRerank], { waitMs: 3000 });
    return rawRes(r.text, r.closed);
  }, 400, 'Protocol', /Content-Length|not valid HTTP|chunk/);
  add('raw sockets', 'a bad chunk size', async () => {
    const r = await rawHttp(port, [head('/rerank', 'Transfer-Encoding: chunked\r\n'), 'zz\r\nabc\r\n0\r\n\r\n'], { waitMs: 3000 });
    return rawRes(r.text, r.closed);
  }, 400, 'Protocol', /Content-Length|not valid HTTP|chunk/);
  add('raw sockets', 'a valid chunked body is served', async () => {
    const half = Math.floor(okRerank.length / 2);
    const chunk = (s: string): string => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    const r = await rawHttp(port, [head('/rerank', 'Transfer-Encoding: chunked\r\nConnection: close\r\n'), chunk(okRerank.slice(0, half)), chunk(okRerank.slice(half)), '0\r\n\r\n'], { waitMs: 5000 });
    return rawRes(r.text, r.closed);
  }, 200, undefined, undefined, (r) => assert.match(r.text, /"score":/));
  add('raw sockets', 'a chunked body over the payload limit', async () => {
    const piece = 'a'.repeat(1024 * 1024);
    const chunks = [head('/rerank', 'Transfer-Encoding: chunked\r\nConnection: close\r\n')];
    for (let i = 0; i < 7; i++) chunks.push(`${piece.length.toString(16)}\r\n${piece}\r\n`);
    const r = await rawHttp(port, [...chunks, '0\r\n\r\n'], { waitMs: 5000 });
    return rawRes(r.text, r.closed);
  }, 413, 'PayloadTooLarge', /6 MiB limit/);
  add('raw sockets', 'headers over 16 KB', async () => {
    const r = await rawHttp(port, [head('/rerank', `X-Big: ${'h'.repeat(20_000)}\r\nContent-Length: ${okRerank.length}\r\n`), okRerank], { waitMs: 3000 });
    return rawRes(r.text, r.closed);
  }, 431, 'Protocol', /headers are larger/);
  add('raw sockets', 'not HTTP at all', async () => {
    const r = await rawHttp(port, ['\u0016\u0003\u0001 hello, this is TLS maybe\r\n\r\n'], { waitMs: 3000 });
    return rawRes(r.text, r.closed);
  }, 400, 'Protocol', /Content-Length|not valid HTTP|chunk/);
  return c;
}

describe('bad input: every case gets its documented 4xx (or 200) and the next request is served', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }) } });
    url = s.url;
    port = s.port;
  });
  after(async () => {
    await s?.stop();
  });

  async function valid(): Promise<void> {
    const r = await postJson(`${url}/rerank`, { query: QUERY, texts: [BERLIN, PARIS] });
    assert.equal(r.status, 200, `the next valid request failed: ${r.text}`);
    assert.equal(r.json[0].index, 1, r.text);
  }

  const table = cases();
  it(`the table has at least 100 cases (${table.length})`, () => {
    assert.ok(table.length >= 100);
    assert.equal(new Set(table.map((x) => `${x.cat}: ${x.name}`)).size, table.length, 'case names are unique');
  });

  for (const k of table) {
    it(`${k.cat}: ${k.name} -> ${k.status || 'connection closed'}${k.type ? ` ${k.type}` : ''}`, async () => {
      const r = await k.run();
      assert.ok(r.status < 500, `a 5xx: ${r.status} ${r.text.slice(0, 500)}`);
      assert.equal(r.status, k.status, `status ${r.status}: ${r.text.slice(0, 500)}`);
      if (k.type) {
        assert.ok(r.json && typeof r.json === 'object', `a JSON error body: ${r.text.slice(0, 300)}`);
        assert.equal(r.json.error_type, k.type, r.text.slice(0, 500));
        assert.equal(typeof r.json.error, 'string');
        assert.ok(r.json.error.length >= 10 && r.json.error.length <= 1200, `a clear, bounded message: ${r.json.error.slice(0, 1300)}`);
        if (k.msg) assert.match(r.json.error, k.msg);
      }
      k.check?.(r);
      await valid();
    });
  }

  it('after the whole table the server is healthy and never logged a crash', async () => {
    assert.equal((await fetch(`${url}/ping`)).status, 200);
    assert.equal(s.proc.exitCode, null);
    assert.ok(!s.logs.some((l) => /uncaught|RangeError|Maximum call stack/i.test(l)), s.logs.filter((l) => /uncaught|RangeError|Maximum call stack/i.test(l)).join('\n'));
  });
});

describe('slowloris: headers sent a byte at a time', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }), HEADERS_TIMEOUT: '6' } });
  });
  after(async () => {
    await s?.stop();
  });

  it('other clients are served meanwhile, and the slow sockets are cut off with 408 or closed', async () => {
    const SOCKETS = 20;
    const slow = Array.from({ length: SOCKETS }, () => {
      const sock = net.connect(s.port, '127.0.0.1');
      let text = '';
      let timer: NodeJS.Timeout | undefined;
      const closed = new Promise<string>((resolve) => {
        sock.on('data', (d) => (text += d.toString('latin1')));
        sock.on('error', () => undefined);
        sock.on('close', () => {
          clearInterval(timer);
          resolve(text);
        });
      });
      const header = `POST /rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${'X-Slow: '.padEnd(4000, 'z')}`;
      let i = 0;
      sock.on('connect', () => {
        timer = setInterval(() => {
          if (!sock.destroyed && i < header.length) sock.write(header[i++]!);
        }, 250);
      });
      return { sock, closed, isClosed: () => sock.destroyed || sock.closed };
    });
    try {
      // Valid requests, in a row and at once, while the slow sockets dribble their headers.
      const t0 = Date.now();
      let served = 0;
      while (Date.now() - t0 < 3000) {
        const r = await postJson(`${s.url}/rerank`, { query: QUERY, texts: [BERLIN, PARIS] });
        assert.equal(r.status, 200, r.text);
        served++;
      }
      const together = await Promise.all(Array.from({ length: 10 }, () => postJson(`${s.url}/v2/rerank`, { query: QUERY, documents: [PARIS] })));
      for (const r of together) assert.equal(r.status, 200, r.text);
      assert.ok(served >= 3, `${served} requests served during 3 s of slowloris`);
      assert.ok(slow.every((x) => !x.isClosed()), 'the slow sockets were still open while the others were served');

      // The server checks header deadlines every second: by HEADERS_TIMEOUT (6 s, counted from the
      // first byte, about 3 s ago) + that second + a margin, every slow socket is cut.
      const deadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 8000).unref());
      for (const x of slow) {
        const out = await Promise.race([x.closed, deadline]);
        assert.notEqual(out, 'timeout', 'a slow socket was never cut off');
        const status = /HTTP\/1\.1 (\d{3})/.exec(out as string)?.[1];
        if (status) assert.ok(Number(status) === 408 || (Number(status) >= 400 && Number(status) < 500), `slow socket answered ${status}`);
      }
      const after = await postJson(`${s.url}/rerank`, { query: QUERY, texts: [BERLIN, PARIS] });
      assert.equal(after.status, 200, after.text);
    } finally {
      for (const x of slow) x.sock.destroy();
    }
  });
});

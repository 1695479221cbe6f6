/**
 * The worker-thread pool: same results as the encoder in-process, errors keep their HTTP status
 * across the thread boundary, concurrent calls do not mix, and a rough throughput figure.
 */
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../src/errors';
import { unpackPair } from '../../src/tokenize/packPairs';
import { PairEncoder } from '../../src/tokenize/pairEncoder';
import { TokenizerPool } from '../../src/tokenize/tokenizerPool';
import { SLICE_CHARS } from '../../src/tokenize/docChunks';
import type { ChunkOptions, EncodeOptions, PackedChunks, PackedPairs } from '../../src/tokenize/types';
import { bertTokenizerDir } from '../helpers/paths';
import { encoderIn, tokenizerFilesIn } from '../helpers/tokenizer';

const SHARED_TOKENIZER_DIR = bertTokenizerDir();

const OPTS: EncodeOptions = { truncate: true, direction: 'right', maxLength: 128 };
const WORDS = 'the capital of France is Paris a city on the Seine with café culture and 東京 🤗 museums'.split(' ');

const PROSE = `Rerankers score a query against each candidate passage with a cross-encoder, which reads both
texts together and therefore sees every interaction between their words. The first stage of a search
system, usually a lexical index or a dense retriever, returns a few hundred candidates quickly; the
reranker then spends more computation on that short list and reorders it. Latency depends on the number
of passages, their length in tokens, and whether a graphics processor is available. Truncation matters:
a passage longer than the model window loses its tail, so long documents are often split into
overlapping windows and the best window decides the score. Tokenization must match the training
pipeline exactly, including special tokens, segment identifiers and the side from which text is cut.
Benchmarks such as MS MARCO, BEIR and TREC Deep Learning report metrics like nDCG@10 and MRR@10.
Operators care about throughput per core, memory per worker, cold-start time and graceful shutdown.`;

function text(seed: number, n: number): string {
  return Array.from({ length: n }, (_, i) => WORDS[(seed * 7 + i * 13) % WORDS.length]).join(' ');
}

function pairs(n: number, seed = 0): Array<[string, string]> {
  return Array.from({ length: n }, (_, i) => [text(seed + i, 3 + (i % 9)), text(seed + i * 3, 10 + ((i * 37) % 200))]);
}

function assertSame(packed: PackedPairs, input: Array<[string, string]>, enc: PairEncoder, opts: EncodeOptions): void {
  assert.equal(packed.offsets.length, input.length + 1);
  input.forEach(([q, d], i) => {
    const want = enc.encodePair(q, d, opts);
    const got = unpackPair(packed, i);
    assert.deepEqual([...got.ids], [...want.ids], `pair ${i} ids`);
    assert.deepEqual([...got.typeIds], [...want.typeIds], `pair ${i} type ids`);
    assert.equal(got.truncated, want.truncated, `pair ${i} truncated`);
  });
}

describe('TokenizerPool', () => {
  let pool: TokenizerPool;
  let enc: PairEncoder;

  before(async () => {
    [pool, enc] = await Promise.all([tokenizerFilesIn(SHARED_TOKENIZER_DIR).then((tokenizer) => TokenizerPool.create({ tokenizer, workers: 2 })), encoderIn(SHARED_TOKENIZER_DIR)]);
  });
  after(() => pool.close());

  test('starts the asked number of workers', () => {
    assert.equal(pool.size, 2);
    assert.match(enc.template.source, /TemplateProcessing/);
  });

  test('results equal the in-process encoder, split across both workers', async () => {
    for (const n of [0, 1, 5, 40, 333]) {
      const input = pairs(n, n);
      assertSame(await pool.encodePairs(input, OPTS), input, enc, OPTS);
    }
    const left: EncodeOptions = { truncate: true, direction: 'left', maxLength: 24 };
    const input = pairs(50, 9);
    assertSame(await pool.encodePairs(input, left), input, enc, left);
  });

  test('a single text (null second text) uses the single-sequence template', async () => {
    const packed = await pool.encodePairs([['only one text', null]], OPTS);
    assert.deepEqual([...unpackPair(packed, 0).ids], [...enc.encodePair('only one text', null, OPTS).ids]);
  });

  test('a too-long pair is a 422 across the thread boundary, naming the pair', async () => {
    const input = pairs(100, 3);
    input[57] = ['query', text(1, 700)];
    const strict: EncodeOptions = { ...OPTS, truncate: false, maxLength: 512 };
    await assert.rejects(pool.encodePairs(input, strict), (e: unknown) => {
      assert.ok(e instanceof AppError, 'an AppError');
      assert.equal(e.status, 422);
      assert.equal(e.errorType, 'Validation');
      assert.match(e.message, /^pair 57 has \d+ tokens, more than the model's 512/);
      return true;
    });
  });

  test('many concurrent calls each get their own results', async () => {
    const inputs = Array.from({ length: 40 }, (_, k) => pairs(1 + ((k * 7) % 30), k * 100));
    const results = await Promise.all(inputs.map((input) => pool.encodePairs(input, OPTS)));
    results.forEach((packed, k) => assertSame(packed, inputs[k]!, enc, OPTS));
  });

  test('document windows through the pool equal the in-process ones', async () => {
    const input: Array<[string, string]> = [['q one', text(1, 300)], ['q two', 'short doc'], ['q three', text(2, 500)]];
    const packed = await pool.encodeDocChunks(input, { maxLength: 64, stride: 8 });
    let w = 0;
    input.forEach(([q, d], i) => {
      const direct = enc.encodeDocChunks(q, d, { maxLength: 64, stride: 8 });
      direct.pairs.forEach((p, j) => {
        assert.equal(packed.pairIndex[w], i);
        assert.deepEqual([...unpackPair(packed, w).ids], [...p.ids]);
        assert.deepEqual([packed.spans[2 * w], packed.spans[2 * w + 1]], [...direct.spans[j]!]);
        w++;
      });
    });
    assert.equal(packed.pairIndex.length, w);
  });

  /** Windows through the pool equal enc.encodeDocChunks for every document, in order. */
  function assertSameWindows(packed: PackedChunks, input: Array<[string, string]>, opts: ChunkOptions): void {
    let w = 0;
    input.forEach(([q, d], i) => {
      const direct = enc.encodeDocChunks(q, d, opts);
      direct.pairs.forEach((p, j) => {
        assert.equal(packed.pairIndex[w], i, `window ${w} belongs to document ${i}`);
        assert.deepEqual([...unpackPair(packed, w).ids], [...p.ids], `document ${i} window ${j} ids`);
        assert.deepEqual([...unpackPair(packed, w).typeIds], [...p.typeIds], `document ${i} window ${j} type ids`);
        assert.equal(unpackPair(packed, w).truncated, p.truncated, `document ${i} window ${j} truncated`);
        assert.deepEqual([packed.spans[2 * w], packed.spans[2 * w + 1]], [...direct.spans[j]!], `document ${i} window ${j} span`);
        w++;
      });
    });
    assert.equal(packed.pairIndex.length, w);
  }

  test('long documents (tokenized in slices) give the same windows as tokenized whole', async () => {
    const long = text(5, 12_000); // ~60,000 chars: several slices
    assert.ok(long.length > 3 * SLICE_CHARS);
    const oneWord = 'x'.repeat(SLICE_CHARS + 5); // one piece longer than a slice, fits one pair
    const input: Array<[string, string]> = [
      ['q one', long],
      ['q two', 'short doc'],
      ['q three', text(7, 9000)],
      ['q four', oneWord],
      [text(3, 80), long], // a query over half the window is cut to it
      ['q six', `${long}  \n\t ${text(2, 10)}   `], // other whitespace and trailing spaces
    ];
    for (const opts of [{ maxLength: 64, stride: 8 }, { maxLength: 128 }, { maxLength: 64, stride: 0, maxChunks: 3 }] as ChunkOptions[]) {
      assertSameWindows(await pool.encodeDocChunks(input, opts), input, opts);
    }
  });

  test('a long document over the window budget is a 422 (MAX_CHUNK_WINDOWS), as whole', async () => {
    const input: Array<[string, string]> = [['q', text(5, 12_000)]];
    await assert.rejects(pool.encodeDocChunks(input, { maxLength: 64, maxWindows: 50 }), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.status, 422);
      assert.match(e.message, /needs \d+ windows or more .*MAX_CHUNK_WINDOWS=50/);
      return true;
    });
  });

  test('fair: a small call overtakes one long document being tokenized in slices (one worker)', async () => {
    const one = await TokenizerPool.create({ tokenizer: await tokenizerFilesIn(SHARED_TOKENIZER_DIR), workers: 1 });
    after(() => one.close());
    const order: string[] = [];
    // Each request has its own signal (its queue); calls without one share a queue, in order.
    const long = one.encodeDocChunks([['q', text(9, 40_000)]], { maxLength: 512 }, new AbortController().signal).then(() => order.push('long'));
    await new Promise((r) => setTimeout(r, 20));
    await one.encodePairs([['q', 'a short document']], OPTS).then(() => order.push('small'));
    await long;
    assert.deepEqual(order, ['small', 'long']);
  });

  test('cancellable: an aborted long document rejects with the abort reason', async () => {
    const controller = new AbortController();
    const run = pool.encodeDocChunks([['q', text(9, 40_000)]], { maxLength: 512 }, controller.signal);
    await new Promise((r) => setTimeout(r, 20));
    controller.abort(new AppError('Timeout', 'gone'));
    await assert.rejects(run, (e: unknown) => e instanceof AppError && e.errorType === 'Timeout');
    // The pool is still usable, and its queue holds nothing of the aborted call.
    const packed = await pool.encodePairs([['q', 'after']], OPTS);
    assert.deepEqual([...unpackPair(packed, 0).ids], [...enc.encodePair('q', 'after', OPTS).ids]);
  });

  test('throughput on 2 workers (reported, not asserted)', async (t) => {
    // MS MARCO-like pairs: an 8-word question and a 60-word passage of varied English prose.
    const prose = PROSE.split(/\s+/);
    const slice = (at: number, n: number): string => Array.from({ length: n }, (_, i) => prose[(at + i) % prose.length]).join(' ');
    const input = Array.from({ length: 4000 }, (_, i): [string, string] => [slice(i * 31, 8), slice(i * 17, 60)]);
    const opts = { ...OPTS, maxLength: 512 };
    await pool.encodePairs(input.slice(0, 400), opts);
    let t0 = performance.now();
    await Promise.all(Array.from({ length: 40 }, (_, k) => pool.encodePairs(input.slice(k * 100, k * 100 + 100), opts)));
    const poolRate = input.length / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    for (const [q, d] of input) enc.encodePair(q, d, opts);
    const oneRate = input.length / ((performance.now() - t0) / 1000);
    t.diagnostic(`pairs/s: pool of 2 workers ${Math.round(poolRate)}, one thread in-process ${Math.round(oneRate)} (${os.cpus().length} CPUs)`);
  });
});

test('a folder without tokenizer.json, or one that is not a tokenizer, is a clear 424', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tok-missing-'));
  await assert.rejects(tokenizerFilesIn(dir), (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.status, 424);
    assert.match(e.message, /no tokenizer\.json in .*tok-missing-/);
    return true;
  });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": {"type": "NoSuchModel"}}');
  await assert.rejects(tokenizerFilesIn(dir).then((tokenizer) => TokenizerPool.create({ tokenizer, workers: 1 })), (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.status, 424);
    assert.match(e.message, /tokenizer could not load from .*tok-missing-.*tokenizer\.json/);
    return true;
  });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a worker that dies fails only its own calls with a 424, and is replaced', async () => {
  const pool = await TokenizerPool.create({ tokenizer: await tokenizerFilesIn(SHARED_TOKENIZER_DIR), workers: 2 });
  try {
    // Reach into the pool to kill one worker, as an out-of-memory crash would.
    const slots = (pool as unknown as { slots: Array<{ slot: { worker: { terminate(): Promise<number> } } }> }).slots;
    const pending = pool.encodePairs(pairs(4000, 1), OPTS);
    await slots[0]!.slot.worker.terminate();
    await assert.rejects(pending, (e: unknown) => e instanceof AppError && e.status === 424 && /the tokenizer worker running this task exited \(code 1\); it is being restarted/.test(e.message));
    for (let i = 0; i < 100 && pool.size < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(pool.size, 2, 'replacement worker started');
    const input = pairs(64, 5);
    assertSame(await pool.encodePairs(input, OPTS), input, await encoderIn(SHARED_TOKENIZER_DIR), OPTS);
  } finally {
    await pool.close();
  }
});

test('calls after close are refused', async () => {
  const pool = await TokenizerPool.create({ tokenizer: await tokenizerFilesIn(SHARED_TOKENIZER_DIR), workers: 1 });
  await pool.close();
  await assert.rejects(pool.encodePairs([['a', 'b']], OPTS), (e: unknown) => e instanceof AppError && e.status === 503);
});

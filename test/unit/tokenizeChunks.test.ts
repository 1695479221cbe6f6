/**
 * Long-document windows: each window is a full (query, window) pair within the model's length,
 * the windows cover the whole document with the asked overlap, their ids are the document's own
 * ids (Rust reference), and each window's character span holds its text.
 */
import test, { describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { AppError } from '../../src/errors';
import { minTokens } from '../../src/tokenize/docChunks';
import { PairEncoder } from '../../src/tokenize/pairEncoder';
import type { DocChunks } from '../../src/tokenize/types';
import { bertTokenizerDir, sharedFixture } from '../helpers/paths';
import { encoderIn } from '../helpers/tokenizer';
import { writeUnigramTokenizer } from './tokenizeFixtures';

const DIRS = {
  bert: bertTokenizerDir(),
  roberta: sharedFixture('onnx', 'opensearch__TinyXLMRoberta-CE-onnx'),
  'unigram-metaspace': path.dirname(writeUnigramTokenizer()),
};

const SENTENCES = [
  'Paris is the capital and largest city of France.',
  'Crème brûlée, naïve café  and   Zürich\tstreets.',
  '東京都は日本の首都です。',
  'Emoji 🤗 and 👍🏽 appear here, with مرحبا and שלום.',
  'Numbers like 3.14 and 1,000,000 split into pieces.',
];
/** n sentences joined by a mix of single spaces, double spaces and newlines. */
const longDoc = (n: number): string =>
  Array.from({ length: n }, (_, i) => SENTENCES[i % SENTENCES.length]! + ['', ' ', '\n'][i % 3]).join(' ');

/** Document ids of window w (the pair minus the query part and the special tokens). */
function docPart(enc: PairEncoder, chunks: DocChunks, w: number, queryLen: number): number[] {
  const ids = [...chunks.pairs[w]!.ids];
  const tpl = enc.template.pair;
  let at = 0;
  for (const p of tpl) {
    if (p.kind === 'special') at += p.ids.length;
    else if (p.seq === 0) at += queryLen;
    else return ids.slice(at, ids.length - tpl.slice(tpl.indexOf(p) + 1).reduce((n, x) => n + (x.kind === 'special' ? x.ids.length : 0), 0));
  }
  throw new Error('template has no second sequence');
}

function isSubarray(needle: number[], hay: Int32Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

for (const [name, dir] of Object.entries(DIRS)) {
  describe(`encodeDocChunks (${name})`, () => {
    let enc: PairEncoder;
    const rust = RustTokenizer.fromFile(path.join(dir, 'tokenizer.json'));

    test('a document that fits gives one pair equal to encodePair', async () => {
      enc = await encoderIn(dir);
      const doc = SENTENCES.join(' ');
      const c = enc.encodeDocChunks('capital of France', doc, { maxLength: 512 });
      assert.equal(c.pairs.length, 1);
      assert.deepEqual(c.spans, [[0, doc.length]]);
      assert.equal(c.complete, true);
      const direct = enc.encodePair('capital of France', doc, { truncate: false, direction: 'right', maxLength: 512 });
      assert.deepEqual([...c.pairs[0]!.ids], [...direct.ids]);
      assert.deepEqual([...c.pairs[0]!.typeIds], [...direct.typeIds]);
    });

    for (const [maxLength, stride] of [[64, 16], [128, undefined], [33, 0], [40, 6]] as const) {
      test(`windows cover the document exactly (max ${maxLength}, stride ${stride ?? 'default'})`, async () => {
        const query = 'which city is the capital?';
        const doc = longDoc(60);
        const c = enc.encodeDocChunks(query, doc, { maxLength, ...(stride !== undefined ? { stride } : {}) });
        // The query keeps at most half of the room when the document needs several windows.
        const queryLen = Math.min(enc.encodeText(query).length, Math.floor((maxLength - enc.template.addedPair) / 2));
        const whole = (await rust.encode(doc, null, { addSpecialTokens: false })).getIds();
        assert.ok(c.pairs.length > 1);
        assert.equal(c.complete, true);
        const window = maxLength - enc.template.addedPair - queryLen;
        const overlap = stride ?? Math.min(64, Math.floor(window / 4));
        const rebuilt: number[] = [];
        let prevEnd = -1;
        c.pairs.forEach((p, w) => {
          assert.ok(p.ids.length <= maxLength, `window ${w} length ${p.ids.length}`);
          assert.equal(p.ids.length, p.typeIds.length);
          const part = docPart(enc, c, w, queryLen);
          if (w < c.pairs.length - 1) assert.equal(part.length, window);
          rebuilt.push(...(w === 0 ? part : part.slice(overlap)));
          const [s, e] = c.spans[w]!;
          assert.ok(s >= 0 && e <= doc.length && s < e, `span ${s}..${e}`);
          assert.ok(e >= prevEnd, 'spans move forward');
          prevEnd = e;
          // Spans leave out the whitespace around a piece, which byte-level BPE turns into tokens.
          let s0 = s;
          let e0 = e;
          while (s0 > 0 && /\s/.test(doc[s0 - 1]!)) s0--;
          while (e0 < doc.length && /\s/.test(doc[e0]!)) e0++;
          assert.ok(isSubarray(part, enc.encodeText(doc.slice(s0, e0))), `window ${w}'s tokens lie inside its span`);
        });
        assert.deepEqual(rebuilt, whole, 'windows minus overlaps are the whole document, HF ids');
        assert.ok(c.spans.at(-1)![1] >= doc.trimEnd().length, 'the last window reaches the end');
      });
    }

    test('a stride over half the window is a 422 naming chunk_stride; the window budget is checked before any window is built', () => {
      const doc = longDoc(80);
      assert.throws(() => enc.encodeDocChunks('q', doc, { maxLength: 48, stride: 1000 }), (e: { status: number; message: string }) => e.status === 422 && /chunk_stride 1000 is more than half/.test(e.message));
      const all = enc.encodeDocChunks('q', doc, { maxLength: 48, stride: 8 }).pairs.length;
      assert.ok(all > 3);
      // The count is arithmetic: exactly the windows the document needs, refused past the budget.
      assert.equal(enc.encodeDocChunks('q', doc, { maxLength: 48, stride: 8, maxWindows: all }).pairs.length, all);
      assert.throws(() => enc.encodeDocChunks('q', doc, { maxLength: 48, stride: 8, maxWindows: all - 1 }), (e: { status: number; message: string }) => e.status === 422 && new RegExp(`needs ${all} windows.*MAX_CHUNK_WINDOWS=${all - 1}`).test(e.message));
    });

    test('minTokens is a floor of the tokens (every space-led piece is a token or more)', () => {
      for (const doc of [longDoc(40), '  a  b\tc\nd ', '', 'word']) assert.ok(minTokens(doc) <= enc.encodeText(doc).length, doc.slice(0, 40));
      assert.equal(minTokens('  a  b\tc\nd '), 4);
    });

    test('maxChunks stops early and says so', () => {
      const c = enc.encodeDocChunks('q', longDoc(80), { maxLength: 48, maxChunks: 3 });
      assert.equal(c.pairs.length, 3);
      assert.equal(c.complete, false);
    });

    test('a long query keeps at most half of each window', () => {
      const query = longDoc(20);
      const c = enc.encodeDocChunks(query, longDoc(30), { maxLength: 64 });
      const room = 64 - enc.template.addedPair;
      for (const p of c.pairs) {
        assert.ok(p.ids.length <= 64);
        assert.equal(p.truncated, true);
      }
      const part = docPart(enc, c, 0, Math.floor(room / 2));
      assert.equal(part.length, room - Math.floor(room / 2));
    });

    test('empty and whitespace-only documents', () => {
      for (const doc of ['', '   ', '\n\t ']) {
        const c = enc.encodeDocChunks('query', doc, { maxLength: 32 });
        assert.equal(c.pairs.length, 1);
        assert.deepEqual(c.spans, [[0, doc.length]]);
      }
    });

    test('a window too small for any text is an error', () => {
      assert.throws(() => enc.encodeDocChunks('q', 'd', { maxLength: enc.template.addedPair + 1 }), (e: unknown) => e instanceof AppError);
    });
  });
}

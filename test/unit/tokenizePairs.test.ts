/**
 * Pair ids and type ids from PairEncoder against the Rust `tokenizers` binding (the reference
 * Hugging Face implementation), on a WordPiece and a byte-level BPE tokenizer, with and without
 * truncation, in both directions, on non-ASCII text, and over seeded random pairs.
 */
import test, { describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { AppError } from '../../src/errors';
import { PairEncoder } from '../../src/tokenize/pairEncoder';
import type { EncodeOptions, TruncationSide } from '../../src/tokenize/types';
import { bertTokenizerDir, sharedFixture } from '../helpers/paths';
import { encoderIn } from '../helpers/tokenizer';
import { mulberry32, randomText, writeUnigramTokenizer } from './tokenizeFixtures';

const BERT = path.join(bertTokenizerDir(), 'tokenizer.json');
const ROBERTA = sharedFixture('onnx', 'opensearch__TinyXLMRoberta-CE-onnx', 'tokenizer.json');
const MINILM = sharedFixture('hf-configs', 'cross-encoder__ms-marco-MiniLM-L-6-v2', 'tokenizer.json');

type Json = Record<string, unknown>;
const readJson = (f: string): Json => JSON.parse(fs.readFileSync(f, 'utf8')) as Json;

interface Ref {
  ids: number[];
  typeIds: number[];
}

/** The reference encoding; maxLength undefined means no truncation. */
async function reference(tok: RustTokenizer, a: string, b: string | undefined, maxLength?: number, direction: TruncationSide = 'right'): Promise<Ref> {
  if (maxLength === undefined) tok.disableTruncation();
  // The binding's strategy type is a const enum, which tsx cannot inline; its value is this string.
  else tok.setTruncation(maxLength, { strategy: 'LongestFirst' as never, direction });
  const e = await tok.encode(a, b ?? null);
  return { ids: e.getIds(), typeIds: e.getTypeIds() };
}

function check(enc: PairEncoder, ref: Ref, a: string, b: string | undefined, opts: EncodeOptions, label: string): void {
  const got = enc.encodePair(a, b ?? null, opts);
  assert.deepEqual([...got.ids], ref.ids, `${label}: ids`);
  assert.deepEqual([...got.typeIds], ref.typeIds, `${label}: type ids`);
}

const long = (word: string, n: number): string => Array.from({ length: n }, (_, i) => `${word}${i % 7}`).join(' ');

const CASES: Array<[string, string]> = [
  ['what is the capital of France?', 'Paris is the capital and largest city of France.'],
  ['', 'only a document'],
  ['only a query', ''],
  ['', ''],
  ['   ', '\t\n '],
  ['Crème brûlée à la française', 'Ñandú, São Paulo, Zürich, Ærøskøbing'],
  ['東京都の人口は？', '東京都は日本の首都であり、人口は約1400万人です。'],
  ['emoji 🤗 test 👍🏽', '👨‍👩‍👧‍👦 family and 🇫🇷 flag'],
  ['مرحبا بالعالم', 'هذه جملة عربية للاختبار'],
  ['e\u0301 a\u0300 o\u0302 combining', 'Z\u0351\u036b\u0343 zalgo t\u0364ext'],
  ['Привет, мир', 'Γειά σου Κόσμε'],
  ['literal [SEP] and </s> and <s>', 'has [CLS] [PAD] <pad> inside'],
  ['a  double  space', 'trailing space '],
  [long('query', 300), 'short doc'],
  ['short query', long('document', 700)],
  [long('query', 400), long('document', 500)],
];

const MAX_LENGTHS = [512, 64, 33, 32, 17, 16, 9, 8];

for (const [name, file] of [
  ['bert-base-uncased (WordPiece, TemplateProcessing)', BERT],
  ['TinyXLMRoberta (byte-level BPE, <s> A </s></s> B </s>)', ROBERTA],
  ['ms-marco-MiniLM-L-6-v2 (a real cross-encoder, with its tokenizer_config)', MINILM],
  ['synthetic XLM-R style (Unigram, Metaspace, NFKC)', writeUnigramTokenizer()],
] as const) {
  describe(`PairEncoder vs Rust tokenizers: ${name}`, () => {
    const rust = RustTokenizer.fromFile(file);
    let enc: PairEncoder;

    test('loads from the folder', async () => {
      enc = await encoderIn(path.dirname(file));
      assert.match(enc.template.source, /TemplateProcessing/);
      assert.equal(enc.template.warning, undefined);
    });

    test('single texts match without special tokens', async () => {
      for (const [a, b] of CASES) {
        for (const t of [a, b]) {
          const e = await rust.encode(t, null, { addSpecialTokens: false });
          assert.deepEqual([...enc.encodeText(t)], e.getIds(), JSON.stringify(t).slice(0, 40));
        }
      }
    });

    test('pairs without truncation', async () => {
      const opts: EncodeOptions = { truncate: false, direction: 'right', maxLength: 100_000 };
      for (const [a, b] of CASES) check(enc, await reference(rust, a, b), a, b, opts, JSON.stringify([a, b]).slice(0, 60));
    });

    test('single-sequence template (null second text)', async () => {
      const opts: EncodeOptions = { truncate: true, direction: 'right', maxLength: 16 };
      for (const [a] of CASES) check(enc, await reference(rust, a, undefined, 16), a, undefined, opts, a.slice(0, 30));
    });

    for (const direction of ['right', 'left'] as const) {
      test(`longest_first truncation, ${direction}, odd and even limits`, async () => {
        for (const maxLength of MAX_LENGTHS) {
          const opts: EncodeOptions = { truncate: true, direction, maxLength };
          for (const [a, b] of CASES) {
            const ref = await reference(rust, a, b, maxLength, direction);
            assert.ok(ref.ids.length <= maxLength);
            check(enc, ref, a, b, opts, `max ${maxLength} ${JSON.stringify([a, b]).slice(0, 50)}`);
          }
        }
      });
    }

    test('a 200 KB document with right truncation (encoded from a word-aligned prefix) matches Rust', async () => {
      // Mixed text: punctuation, digits, accents, tabs and newlines near where the prefix is cut.
      const unit = 'Caf\u00e9 no.\t42, "quoted" words\n and (brackets) r\u00e9sum\u00e9s; ';
      const doc = unit.repeat(Math.ceil(200_000 / unit.length));
      for (const maxLength of [512, 128, 33]) {
        const opts: EncodeOptions = { truncate: true, direction: 'right', maxLength };
        check(enc, await reference(rust, 'which cafe?', doc, maxLength, 'right'), 'which cafe?', doc, opts, `max ${maxLength}`);
        check(enc, await reference(rust, doc, 'short', maxLength, 'right'), doc, 'short', opts, `long query, max ${maxLength}`);
      }
    });

    test('a 200 KB document with left truncation (encoded from a word-aligned suffix) matches Rust', async () => {
      const unit = 'Caf\u00e9 no.\t42, "quoted" words\n and (brackets) r\u00e9sum\u00e9s; ';
      const doc = unit.repeat(Math.ceil(200_000 / unit.length)) + 'the end';
      for (const maxLength of [512, 128, 33]) {
        const opts: EncodeOptions = { truncate: true, direction: 'left', maxLength };
        check(enc, await reference(rust, 'which cafe?', doc, maxLength, 'left'), 'which cafe?', doc, opts, `max ${maxLength}`);
        check(enc, await reference(rust, doc, 'short', maxLength, 'left'), doc, 'short', opts, `long query, max ${maxLength}`);
      }
    });

    test('a document of long words (the first prefix or suffix tried is too short) matches Rust both ways', async () => {
      // 150-char words: WordPiece makes each one [UNK], so 16 chars per kept token is not enough.
      const doc = Array.from({ length: 2000 }, (_, i) => `${String.fromCharCode(97 + (i % 26)).repeat(150)}${i}`).join(' ');
      for (const direction of ['right', 'left'] as const) {
        const opts: EncodeOptions = { truncate: true, direction, maxLength: 128 };
        check(enc, await reference(rust, 'q', doc, 128, direction), 'q', doc, opts, direction);
      }
    });

    test('a pair exactly at the limit is kept whole; one token over is cut', async () => {
      const [a, b] = ['how tall is the eiffel tower', 'the tower is 330 metres tall and was built in 1889'];
      const full = (await reference(rust, a, b)).ids.length;
      const atLimit = enc.encodePair(a, b, { truncate: false, direction: 'right', maxLength: full });
      assert.equal(atLimit.ids.length, full);
      assert.equal(atLimit.truncated, false);
      const over = { truncate: true, direction: 'right', maxLength: full - 1 } as const;
      check(enc, await reference(rust, a, b, full - 1), a, b, over, 'one over');
      assert.equal(enc.encodePair(a, b, over).truncated, true);
    });

    test('the last special token survives truncation (the transformers.js trap)', () => {
      const p = enc.encodePair('short', long('document', 200), { truncate: true, direction: 'right', maxLength: 24 });
      const r = enc.encodePair('short', 'x', { truncate: false, direction: 'right', maxLength: 24 });
      assert.equal(p.ids.length, 24);
      assert.equal(p.ids[23], r.ids[r.ids.length - 1]);
    });

    test("Rust's early stop: lengths for longest_first count whole splits, literal special tokens included", async () => {
      // Rust >= 0.23 stops tokenizing a text at the first split that reaches max_length tokens,
      // so a long last word (or a literal [SEP]) changes which side longest_first cuts more.
      const cases: Array<[string, string]> = [
        ['مرحبا بالعالم', 'هذه جملة عربية للاختبار'],
        ['m'.repeat(38), Array.from({ length: 40 }, () => 'b').join(' ')],
        ['a b c [SEP] k l [SEP] m n o p', 'x y z w v u t s r q'],
        ['a b </s> </s> </s> c d e f', 'Donaudampfschifffahrtsgesellschaftskapitän and more words here'],
      ];
      for (const direction of ['right', 'left'] as const) {
        for (const maxLength of [8, 9, 12]) {
          for (const [a, b] of cases) {
            check(enc, await reference(rust, a, b, maxLength, direction), a, b, { truncate: true, direction, maxLength }, `${direction} ${maxLength} ${a.slice(0, 20)}`);
          }
        }
      }
    });

    test('too long without truncation is a 422 naming the limit and the length', () => {
      const opts: EncodeOptions = { truncate: false, direction: 'right', maxLength: 32 };
      assert.throws(
        () => enc.encodePair('q', long('document', 100), opts, 3),
        (e: unknown) => e instanceof AppError && e.status === 422 && /^pair 3 has \d+ tokens, more than the model's 32 \(set truncate=true/.test(e.message),
      );
    });

    test('a max length that cannot hold the special tokens is an error', () => {
      const need = enc.template.addedPair;
      assert.throws(() => enc.encodePair('a', 'b', { truncate: true, direction: 'right', maxLength: need - 1 }), /cannot hold/);
      const onlySpecials = enc.encodePair('a', 'b', { truncate: true, direction: 'right', maxLength: need });
      assert.equal(onlySpecials.ids.length, need);
    });

    test('seeded random pairs of random lengths and limits match every id', async () => {
      const rnd = mulberry32(name.length * 7919);
      for (let i = 0; i < 400; i++) {
        const a = randomText(rnd, Math.floor(rnd() ** 2 * 200));
        const b = randomText(rnd, Math.floor(rnd() ** 2 * 600));
        const direction: TruncationSide = rnd() < 0.5 ? 'right' : 'left';
        // Small limits make the early stop and the split arithmetic matter most.
        const maxLength = enc.template.addedPair + Math.floor(rnd() < 0.5 ? rnd() * 24 : rnd() * 300);
        const truncate = rnd() < 0.85;
        const opts: EncodeOptions = { truncate, direction, maxLength };
        const label = `case ${i} (${direction}, max ${maxLength}, truncate ${truncate}) ${JSON.stringify([a.slice(0, 120), b.slice(0, 120)])}`;
        if (truncate) {
          check(enc, await reference(rust, a, b, maxLength, direction), a, b, opts, label);
        } else {
          const ref = await reference(rust, a, b);
          if (ref.ids.length <= maxLength) check(enc, ref, a, b, opts, label);
          else assert.throws(() => enc.encodePair(a, b, opts), (e: unknown) => e instanceof AppError && e.status === 422, label);
        }
      }
    });
  });
}

describe('templates from every post_processor kind match Rust', () => {
  const base = readJson(BERT);
  const texts: Array<[string, string]> = [
    ['a query about cats', 'a document about dogs and cats'],
    [long('q', 40), long('d', 60)],
  ];
  const variants: Array<[string, unknown]> = [
    ['BertProcessing', { type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] }],
    ['RobertaProcessing', { type: 'RobertaProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101], trim_offsets: true, add_prefix_space: true }],
    [
      'Sequence(ByteLevel, TemplateProcessing)',
      { type: 'Sequence', processors: [{ type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true }, base.post_processor] },
    ],
    ['ByteLevel alone (no special tokens)', { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true }],
    ['none', null],
  ];
  for (const [label, pp] of variants) {
    test(label, async () => {
      const json = { ...base, post_processor: pp };
      const rust = RustTokenizer.fromString(JSON.stringify(json));
      const enc = await PairEncoder.create(json);
      for (const maxLength of [undefined, 31, 20]) {
        for (const [a, b] of texts) {
          const opts: EncodeOptions = { truncate: true, direction: 'right', maxLength: maxLength ?? 100_000 };
          check(enc, await reference(rust, a, b, maxLength), a, b, opts, `${label} max ${maxLength}`);
        }
      }
    });
  }

  test('no post_processor: BERT layout from tokenizer_config, with a warning', async () => {
    const bertLike = RustTokenizer.fromString(JSON.stringify({ ...base, post_processor: variants[0]![1] }));
    const enc = await PairEncoder.create({ ...base, post_processor: null }, { cls_token: '[CLS]', sep_token: { content: '[SEP]' } });
    assert.match(enc.template.source, /^fallback: BERT layout/);
    assert.match(enc.template.warning ?? '', /no post_processor/);
    const [a, b] = texts[0]!;
    check(enc, await reference(bertLike, a, b), a, b, { truncate: false, direction: 'right', maxLength: 512 }, 'fallback');
  });

  test('no post_processor, RoBERTa tokenizer_class: <s> A </s></s> B </s>', async () => {
    const robertaLike = RustTokenizer.fromString(JSON.stringify({ ...base, post_processor: variants[1]![1] }));
    const cfg = { tokenizer_class: 'XLMRobertaTokenizer', bos_token: '[CLS]', eos_token: '[SEP]' };
    const enc = await PairEncoder.create({ ...base, post_processor: null }, cfg);
    assert.match(enc.template.source, /^fallback: RoBERTa layout/);
    const [a, b] = texts[0]!;
    check(enc, await reference(robertaLike, a, b), a, b, { truncate: false, direction: 'right', maxLength: 512 }, 'fallback');
  });

  test('no post_processor and no cls/sep anywhere: plain A B like Rust, with a warning', async () => {
    const rust = RustTokenizer.fromString(JSON.stringify({ ...base, post_processor: null }));
    const enc = await PairEncoder.create({ ...base, post_processor: null });
    assert.match(enc.template.warning ?? '', /without special tokens/);
    const [a, b] = texts[1]!;
    check(enc, await reference(rust, a, b, 30), a, b, { truncate: true, direction: 'right', maxLength: 30 }, 'plain');
  });
});

describe('encodePairs: a text shared by many pairs is tokenized once, with the same result', () => {
  test('queries x documents, both truncation sides, against the Rust reference pair by pair', async () => {
    const rust = RustTokenizer.fromFile(BERT);
    const enc = await encoderIn(path.dirname(BERT));
    const rand = mulberry32(15);
    const queries = Array.from({ length: 4 }, () => randomText(rand, 3 + Math.floor(rand() * 30)));
    const docs = Array.from({ length: 5 }, () => randomText(rand, 5 + Math.floor(rand() * 80)));
    const pairs = docs.flatMap((d) => queries.map((q) => [q, d] as const));
    for (const direction of ['right', 'left'] as const) {
      const opts: EncodeOptions = { truncate: true, direction, maxLength: 48 };
      const batch = enc.encodePairs(pairs, opts);
      for (const [i, [q, d]] of pairs.entries()) {
        assert.deepEqual(batch[i], enc.encodePair(q, d, opts, i), `pair ${i} ${direction}`);
        const ref = await reference(rust, q, d, 48, direction);
        assert.deepEqual(Array.from(batch[i]!.ids), ref.ids, `pair ${i} ${direction} vs Rust`);
      }
    }
  });
});

/**
 * Decoder-reranker prompts: the ids of prefix + truncated body + suffix against the published test
 * vectors (fixtures NOTES.md) and against the Rust `tokenizers` binding running the reference
 * recipe (each part tokenized alone, the body truncated to max - prefix - suffix), with the real
 * Qwen3 tokenizer from ../shared; and vLLM's score template file read into the same three strings.
 */
import test, { describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { AppError } from '../../src/errors';
import { FAMILIES, parseScoreTemplate } from '../../src/tokenize/promptTemplates';
import { PairEncoder } from '../../src/tokenize/pairEncoder';
import { PromptEncoder } from '../../src/tokenize/promptEncoder';
import type { EncodeOptions } from '../../src/tokenize/types';
import { qwen3TokenizerDir, sharedDir } from '../../scripts/genDecoder';

const QWEN = qwen3TokenizerDir();
const QWEN3 = FAMILIES[0]!.template;
const ids = (s: string): number[] => s.split(' ').map(Number);

// NOTES.md, "Test vectors" (checked there with transformers and tokenizers in Python).
const PREFIX = ids('151644 8948 198 60256 3425 279 11789 20027 279 8502 3118 389 279 11361 323 279 758 1235 3897 13 7036 429 279 4226 646 1172 387 330 9693 1 476 330 2152 3263 151645 198 151644 872 198');
const SUFFIX = ids('151645 198 151644 77091 198 151667 271 151668 271');
const CHINA = ids('27 641 1235 26818 16246 264 3482 2711 3239 11 17179 9760 46769 429 4226 279 3239 198 27 2859 26818 3555 374 279 6722 315 5616 5267 75692 26818 576 6722 315 5616 374 26549 13');

const opts = (maxLength: number, extra: Partial<EncodeOptions> = {}): EncodeOptions => ({ truncate: true, direction: 'right', maxLength, ...extra });

/** The reference recipe with the Rust tokenizer: parts alone, no special tokens, body truncated. */
async function reference(tok: RustTokenizer, q: string, d: string, instruction: string, maxLength: number): Promise<number[]> {
  const enc = async (s: string, max?: number): Promise<number[]> => {
    if (max === undefined) tok.disableTruncation();
    else tok.setTruncation(max, { strategy: 'LongestFirst' as never, direction: 'right' as never });
    return (await tok.encode(s, null, { addSpecialTokens: false })).getIds();
  };
  const prefix = await enc(QWEN3.prefix);
  const suffix = await enc(QWEN3.suffix);
  const body = await enc(`<Instruct>: ${instruction}\n<Query>: ${q}\n<Document>: ${d}`, maxLength - prefix.length - suffix.length);
  return [...prefix, ...body, ...suffix];
}

describe('decoder reranker prompt (Qwen3-Reranker)', { skip: !fs.existsSync(path.join(QWEN, 'tokenizer.json')) && `no ${QWEN}` }, () => {
  let prompt: PromptEncoder;
  let text: PairEncoder;
  let rust: RustTokenizer;
  test.before(async () => {
    text = await PairEncoder.create(JSON.parse(fs.readFileSync(path.join(QWEN, 'tokenizer.json'), 'utf8')) as object, JSON.parse(fs.readFileSync(path.join(QWEN, 'tokenizer_config.json'), 'utf8')) as object);
    prompt = new PromptEncoder(text, QWEN3);
    rust = RustTokenizer.fromFile(path.join(QWEN, 'tokenizer.json'));
  });

  test('early stops (long texts, either direction, text after the document) give the ids of tokenizing whole', () => {
    const inner = (prompt as unknown as { enc: PairEncoder }).enc;
    // The same encoder without encodeTextUpTo / encodeTextLast: every part tokenized whole.
    const whole = (t: typeof QWEN3): PromptEncoder => new PromptEncoder({ encodeText: (x) => inner.encodeText(x) }, t);
    const early = (t: typeof QWEN3): PromptEncoder => new PromptEncoder(inner, t);
    const withTail = { ...QWEN3, name: 'tail-test', body: `${QWEN3.body}\n<End of document>` };
    const unit = 'Caf\u00e9 no.\t42, "quoted" words\n and (brackets) \u4e2d\u6587 r\u00e9sum\u00e9s; ';
    const doc = unit.repeat(400); // ~24,000 chars: over 16 chars per token of 512
    const longQuery = unit.repeat(200);
    for (const t of [QWEN3, withTail]) {
      for (const direction of ['right', 'left'] as const) {
        for (const [q, d] of [['which cafe?', doc], [longQuery, 'short'], [longQuery, doc], ['q', 'short']] as const) {
          for (const maxLength of [512, 100]) {
            const o = opts(maxLength, { direction });
            const a = early(t).encode(q, d, o);
            const b = whole(t).encode(q, d, o);
            assert.deepEqual([...a.ids], [...b.ids], `${t.name} ${direction} max ${maxLength} q ${q.length} d ${d.length}`);
            assert.equal(a.truncated, b.truncated);
          }
        }
      }
    }
  });

  test('prefix, suffix and the full prompt equal the published ids (last token 271, not 198)', () => {
    assert.deepEqual([...prompt.prefixIds], PREFIX);
    assert.deepEqual([...prompt.suffixIds], SUFFIX);
    const got = prompt.encode('What is the capital of China?', 'The capital of China is Beijing.', opts(8192));
    assert.deepEqual([...got.ids], [...PREFIX, ...CHINA, ...SUFFIX]);
    assert.equal(got.ids.length, 85);
    assert.equal(got.ids[got.ids.length - 1], 271);
    assert.equal(got.truncated, false);
  });

  test('equals the Rust tokenizers reference recipe, with and without instruction, truncated or not', async () => {
    const docs = [
      'Mars, known for its reddish appearance, is often referred to as the Red Planet.',
      'Crème brûlée à la française — 東京都は日本の首都であり、人口は約1400万人です。 👨‍👩‍👧‍👦',
      Array.from({ length: 400 }, (_, i) => `word${i % 13} and (${i})`).join(' '),
      '',
      '  leading spaces\n\nand blank lines\n',
    ];
    const instructions = [QWEN3.defaultInstruction!, 'Find the passage that states the fact', ''];
    for (const maxLength of [8192, 120, 60]) {
      for (const d of docs) {
        for (const ins of instructions) {
          const ref = await reference(rust, 'Which planet is known as the Red Planet?', d, ins, maxLength);
          const got = prompt.encode('Which planet is known as the Red Planet?', d, opts(maxLength, { instruction: ins }));
          assert.deepEqual([...got.ids], ref, `max ${maxLength}, doc ${d.slice(0, 20)}, instruction '${ins}'`);
          assert.ok(got.ids.length <= maxLength);
          assert.deepEqual([...got.ids.subarray(got.ids.length - SUFFIX.length)], SUFFIX, 'the suffix survives truncation');
        }
      }
    }
  });

  test('no instruction in the request means the default one', () => {
    const a = prompt.encode('q', 'd', opts(512));
    const b = prompt.encode('q', 'd', opts(512, { instruction: QWEN3.defaultInstruction! }));
    const c = prompt.encode('q', 'd', opts(512, { instruction: 'other' }));
    assert.deepEqual([...a.ids], [...b.ids]);
    assert.notDeepEqual([...a.ids], [...c.ids]);
  });

  test('truncation: the document loses tokens; truncate=false is a 422; a window under the prompt is refused', () => {
    const long = 'lorem ipsum '.repeat(200);
    const cut = prompt.encode('query text', long, opts(100));
    assert.equal(cut.ids.length, 100);
    assert.equal(cut.truncated, true);
    // Up to '<Document>:' (an empty document leaves a lone space token that a real one absorbs).
    const queryIds = [...prompt.encode('query text', '', opts(100)).ids].slice(0, -SUFFIX.length - 1);
    assert.deepEqual([...cut.ids].slice(0, queryIds.length), queryIds, 'prefix, instruction and query are intact');
    assert.throws(() => prompt.encode('q', long, opts(100, { truncate: false })), (e: unknown) => e instanceof AppError && e.status === 422);
    assert.throws(() => prompt.encode('q', 'd', opts(40)), (e: unknown) => e instanceof AppError && /cannot hold/.test(e.message));
  });
  test('long_documents=chunk windows: prefix + instruction/query + a run of document tokens + suffix, the encoder stride rules', () => {
    const q = 'Which planet is known as the Red Planet?';
    const ins = 'Find the passage';
    const doc = Array.from({ length: 300 }, (_, i) => `Mars fact number ${i} says its dust is red.`).join(' ');
    const maxLength = 160;
    const chunks = prompt.encodeDocChunks(q, doc, { maxLength, prompt: { instruction: ins } });
    const head = [...prompt.encode(q, '', opts(8192, { instruction: ins })).ids].slice(PREFIX.length, -SUFFIX.length - 1);
    const docIds = [...text.encodeText(' ' + doc)];
    const window = maxLength - PREFIX.length - SUFFIX.length - head.length;
    const stride = Math.min(64, Math.floor(window / 4));
    assert.equal(chunks.pairs.length, 1 + Math.ceil((docIds.length - window) / (window - stride)));
    chunks.pairs.forEach((p, w) => {
      const ids = [...p.ids];
      assert.ok(ids.length <= maxLength);
      assert.deepEqual(ids.slice(0, PREFIX.length), PREFIX);
      assert.deepEqual(ids.slice(-SUFFIX.length), SUFFIX);
      assert.deepEqual(ids.slice(PREFIX.length, PREFIX.length + head.length), head, `window ${w}: instruction and query whole`);
      const start = w * (window - stride);
      assert.deepEqual(ids.slice(PREFIX.length + head.length, -SUFFIX.length), docIds.slice(start, start + window), `window ${w}`);
      const [s0, e0] = chunks.spans[w]!;
      assert.ok(s0 >= 0 && e0 <= doc.length && s0 < e0);
    });
    assert.equal(chunks.spans[0]![0], 0);
    assert.equal(chunks.spans.at(-1)![1], doc.length);
    // A document that fits is the one input truncation builds.
    const short = prompt.encodeDocChunks(q, 'Mars is red.', { maxLength, prompt: { instruction: ins } });
    assert.deepEqual([...short.pairs[0]!.ids], [...prompt.encode(q, 'Mars is red.', opts(maxLength, { instruction: ins })).ids]);
    assert.deepEqual(short.spans, [[0, 'Mars is red.'.length]]);
    // The window budget (MAX_CHUNK_WINDOWS) and the stride bound hold as for cross-encoders.
    assert.throws(() => prompt.encodeDocChunks(q, doc, { maxLength, maxWindows: 3 }), /MAX_CHUNK_WINDOWS=3/);
    assert.throws(() => prompt.encodeDocChunks(q, doc, { maxLength, stride: window }), /chunk_stride/);
  });

  test('an instruction of megabytes: truncation cuts the body as the reference does; chunking refuses it with a 422, tokenizing only the budget', () => {
    const huge = 'Judge relevance carefully. '.repeat(120_000);
    const cut = prompt.encode('q', 'd', opts(100, { instruction: huge }));
    assert.equal(cut.ids.length, 100);
    assert.deepEqual([...cut.ids], [...prompt.encode('q', 'd', opts(100, { instruction: huge.slice(0, 2000) })).ids], 'only the first body tokens count');
    assert.throws(
      () => prompt.encodeDocChunks('q', 'a long document '.repeat(50), { maxLength: 100, prompt: { instruction: huge } }),
      (e: unknown) => e instanceof AppError && e.status === 422 && /instruction and query take more than half/.test(e.message),
    );
  });
});

describe('templates tokenized in parts (mxbai-rerank-v2, with the Qwen tokenizer its Qwen2 base shares)', { skip: !fs.existsSync(path.join(QWEN, 'tokenizer.json')) && `no ${QWEN}` }, () => {
  const MXBAI = FAMILIES.find((f) => f.template.name === 'mxbai-rerank-v2')!.template;
  let text: PairEncoder;
  let prompt: PromptEncoder;
  test.before(async () => {
    text = await PairEncoder.create(JSON.parse(fs.readFileSync(path.join(QWEN, 'tokenizer.json'), 'utf8')) as object, JSON.parse(fs.readFileSync(path.join(QWEN, 'tokenizer_config.json'), 'utf8')) as object);
    prompt = new PromptEncoder(text, MXBAI);
  });
  const task = MXBAI.parts!.at(-1)!;
  /** mxbai_rerank_v2.py's recipe: prefix, [instruction line +] query, "\n", "document: " + doc, "\n", task prompt, suffix, each alone. */
  const reference = (q: string, d: string, instruction = ''): number[] => {
    const e = (x: string): number[] => [...text.encodeText(x)];
    return [...e(MXBAI.prefix), ...e(`${instruction ? `instruction: ${instruction}\n` : ''}query: ${q}`), ...e('\n'), ...e(`document: ${d}`), ...e('\n'), ...e(task), ...e(MXBAI.suffix)];
  };

  test('the ids are the parts tokenized alone (not the joined text), with the instruction line only when one is given', () => {
    const q = 'Which planet is known as the Red Planet?';
    const d = 'Mars, known for its reddish appearance, is often referred to as the Red Planet.';
    assert.deepEqual([...prompt.encode(q, d, opts(8192)).ids], reference(q, d));
    assert.deepEqual([...prompt.encode(q, d, opts(8192, { instruction: 'Find the planet' })).ids], reference(q, d, 'Find the planet'));
    const joined = [...text.encodeText(MXBAI.prefix + MXBAI.body.replace('{query}', q).replace('{document}', d) + MXBAI.suffix)];
    assert.notDeepEqual(joined, reference(q, d), '"?\\n" and ".\\n" merge when the text is tokenized whole: the parts matter');
    assert.equal(MXBAI.parts!.join(''), MXBAI.body);
  });

  test('truncation: the document part is cut to fit; a long query keeps 3/4 of the variable room; truncate=false is a 422', () => {
    const q = 'red planet';
    const long = 'Mars has red dust and iron oxide. '.repeat(100);
    for (const maxLength of [200, 120]) {
      const cut = prompt.encode(q, long, opts(maxLength));
      assert.equal(cut.ids.length, maxLength);
      assert.equal(cut.truncated, true);
      const ref = reference(q, long);
      const tailLen = [...text.encodeText('\n'), ...text.encodeText(task), ...text.encodeText(MXBAI.suffix)].length;
      assert.deepEqual([...cut.ids].slice(-tailLen), ref.slice(-tailLen), 'the task prompt and suffix survive');
      assert.deepEqual([...cut.ids].slice(0, maxLength - tailLen), ref.slice(0, maxLength - tailLen), 'the document loses its end');
    }
    const hugeQuery = prompt.encode('planet '.repeat(500), 'Mars is red.', opts(200));
    assert.equal(hugeQuery.ids.length <= 200, true);
    assert.ok([...hugeQuery.ids].join(' ').includes([...text.encodeText('document: Mars is red.')].join(' ')), 'the document survives a long query');
    assert.throws(() => prompt.encode(q, long, opts(200, { truncate: false })), (e: unknown) => e instanceof AppError && e.status === 422);
  });

  test('chunking windows with a parts template: each window is the parts around a run of document tokens', () => {
    const doc = Array.from({ length: 200 }, (_, i) => `Mars fact ${i} mentions red dust.`).join(' ');
    const chunks = prompt.encodeDocChunks('red planet', doc, { maxLength: 200, prompt: {} });
    assert.ok(chunks.pairs.length > 3);
    const head = [...text.encodeText(MXBAI.prefix), ...text.encodeText('query: red planet'), ...text.encodeText('\n'), ...text.encodeText('document:')];
    const tail = [...text.encodeText('\n'), ...text.encodeText(task), ...text.encodeText(MXBAI.suffix)];
    for (const p of chunks.pairs) {
      assert.ok(p.ids.length <= 200);
      assert.deepEqual([...p.ids].slice(0, head.length), head);
      assert.deepEqual([...p.ids].slice(-tail.length), tail);
    }
    const short = prompt.encodeDocChunks('red planet', 'Mars is red.', { maxLength: 200, prompt: {} });
    assert.deepEqual([...short.pairs[0]!.ids], reference('red planet', 'Mars is red.'));
  });
});

describe('score template files', () => {
  const dir = path.join(sharedDir(), 'fixtures', 'llm-rerankers', 'vllm-project__vllm', 'score-templates');
  test("vLLM's qwen3_reranker.jinja reads into exactly the built-in template, final newlines kept", { skip: !fs.existsSync(dir) && `no ${dir}` }, () => {
    const t = parseScoreTemplate(fs.readFileSync(path.join(dir, 'qwen3_reranker.jinja'), 'utf8'), 'file:qwen3_reranker.jinja');
    assert.equal(t.prefix, QWEN3.prefix);
    assert.equal(t.body, QWEN3.body);
    assert.equal(t.suffix, QWEN3.suffix);
    assert.equal(t.defaultInstruction, QWEN3.defaultInstruction);
  });
  test('templates with text after the document, and templates this reader refuses', () => {
    const t = parseScoreTemplate('<s>Q: {{ (messages | selectattr("role", "eq", "query") | first).content }}\nD: {{ (messages | selectattr("role", "eq", "document") | first).content }}\nRelevant?', 'x');
    assert.equal(t.prefix, '');
    assert.equal(t.body, '<s>Q: {query}\nD: {document}');
    assert.equal(t.suffix, '\nRelevant?');
    assert.equal(t.defaultInstruction, undefined);
    assert.throws(() => parseScoreTemplate('{% for m in messages %}{{ m.content }}{% endfor %}', 'y'), /statements/);
    assert.throws(() => parseScoreTemplate('only {{ (messages | selectattr("role", "eq", "query") | first).content }}', 'z'), /both/);
  });
});

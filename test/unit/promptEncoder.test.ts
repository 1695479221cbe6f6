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
  let rust: RustTokenizer;
  test.before(async () => {
    prompt = new PromptEncoder(await PairEncoder.create(JSON.parse(fs.readFileSync(path.join(QWEN, 'tokenizer.json'), 'utf8')) as object, JSON.parse(fs.readFileSync(path.join(QWEN, 'tokenizer_config.json'), 'utf8')) as object), QWEN3);
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

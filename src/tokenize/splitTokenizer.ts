/**
 * Text -> ids with the pure-JS tokenizer, split by split, so truncation can stop early exactly
 * where the Rust `tokenizers` library (>= 0.23, PR #1990) stops: it tokenizes pre-tokenized
 * splits (words, punctuation, added tokens) only until max_length tokens are reached, from the
 * front for right truncation and from the back for left (left: measured, not documented). The
 * kept length can exceed max_length by the rest of the last split, and pair truncation
 * (longest_first) compares these kept lengths, so matching them is what makes truncated pairs
 * HF-identical. It also skips the model for the rest of a long document, and with right truncation
 * tries a word-aligned prefix first, so a 5 MB document costs the tokenizer what its first few
 * thousand characters cost (encodeUpTo).
 *
 * This mirrors `Tokenizer.encode_text` of @huggingface/tokenizers 0.2 (sections around added
 * tokens, normalizer, pre-tokenizer, model), calling the model once per split as Rust does.
 */
import type { Tokenizer } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
import type { TruncationSide } from './types';

interface AddedTokenLike {
  readonly id: number;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
}

/** The fields of the JS Tokenizer this mirror reads (private in its typings, stable in 0.2). */
interface Internals {
  splitter_unnormalized: { split(text: string): string[] };
  splitter_normalized: { split(text: string): string[] };
  added_tokens_map: Map<string, AddedTokenLike>;
  normalizer: ((text: string) => string) | null;
  pre_tokenizer: ((text: string, options: { section_index: number }) => string[]) | null;
  model: ((words: string[]) => string[]) & { tokens_to_ids: Map<string, number>; unk_token_id?: number };
}

interface Split {
  readonly ids: number[];
  /** An added token matched in the text: already a token, never run through the model. */
  readonly added: boolean;
}

export interface EarlyStop {
  /** Stop once this many tokens are kept (the model's full max length, as Rust uses). */
  readonly maxTokens: number;
  readonly direction: TruncationSide;
}

/** Applies added tokens' lstrip/rstrip to the neighbouring sections, as encode_text does. */
function stripAround(parts: string[], added: Map<string, AddedTokenLike>): void {
  parts.forEach((part, i) => {
    const tok = added.get(part);
    if (!tok) return;
    if (tok.lstrip && i > 0) parts[i - 1] = parts[i - 1]!.trimEnd();
    if (tok.rstrip && i < parts.length - 1) parts[i + 1] = parts[i + 1]!.trimStart();
  });
}

/**
 * Rust's Metaspace pre-tokenizer (split: true, its default) cuts "▁a▁b" into "▁a", "▁b"; the JS
 * one returns the whole string as one word. Returns the replacement character when words must be
 * cut again, so splits (and so the early stop) fall where Rust's do.
 */
function metaspaceSplit(preTokenizer: unknown): string | undefined {
  if (typeof preTokenizer !== 'object' || preTokenizer === null) return undefined;
  const p = preTokenizer as { type?: unknown; split?: unknown; replacement?: unknown; pretokenizers?: unknown };
  if (p.type === 'Metaspace') return p.split === false ? undefined : typeof p.replacement === 'string' ? p.replacement : '\u2581';
  if (p.type === 'Sequence' && Array.isArray(p.pretokenizers)) {
    for (const inner of p.pretokenizers) {
      const r = metaspaceSplit(inner);
      if (r !== undefined) return r;
    }
  }
  return undefined;
}

/** Cuts before every replacement char except a leading one ("▁▁a" -> "▁", "▁a"), as Rust does. */
function cutAt(words: string[], mark: string): string[] {
  return words.flatMap((w) => {
    const out: string[] = [];
    let from = 0;
    for (let i = w.indexOf(mark, 1); i > 0; i = w.indexOf(mark, i + mark.length)) {
      out.push(w.slice(from, i));
      from = i;
    }
    out.push(w.slice(from));
    return out;
  });
}

export class SplitTokenizer {
  private readonly t: Internals;
  private readonly metaspace: string | undefined;

  /** `tokenizerJson` is the parsed tokenizer.json the JS tokenizer was built from. */
  constructor(tokenizer: Tokenizer, tokenizerJson: Record<string, unknown>) {
    const t = tokenizer as unknown as Internals;
    if (typeof t.splitter_unnormalized?.split !== 'function' || !(t.added_tokens_map instanceof Map) || typeof t.model !== 'function') {
      throw new Error('unsupported @huggingface/tokenizers version: its Tokenizer internals changed');
    }
    this.t = t;
    this.metaspace = metaspaceSplit(tokenizerJson.pre_tokenizer);
  }

  /** The splits of one text with their ids, in order (or in reverse order when `reverse`). */
  private *splits(text: string, reverse: boolean): Generator<Split> {
    const t = this.t;
    const sections = t.splitter_unnormalized.split(text);
    stripAround(sections, t.added_tokens_map);
    const order = reverse ? sections.map((_, i) => sections.length - 1 - i) : sections.map((_, i) => i);
    for (const sectionIndex of order) {
      let section = sections[sectionIndex]!;
      if (section.length === 0) continue;
      const added = t.added_tokens_map.get(section);
      if (added) {
        yield { ids: [added.id], added: true };
        continue;
      }
      if (t.normalizer !== null) section = t.normalizer(section);
      if (section.length === 0) continue;
      const subsections = t.splitter_normalized.split(section);
      stripAround(subsections, t.added_tokens_map);
      if (reverse) subsections.reverse();
      for (const sub of subsections) {
        if (sub.length === 0) continue;
        const addedSub = t.added_tokens_map.get(sub);
        if (addedSub) {
          yield { ids: [addedSub.id], added: true };
          continue;
        }
        let words = t.pre_tokenizer !== null ? t.pre_tokenizer(sub, { section_index: sectionIndex }) : [sub];
        if (this.metaspace !== undefined) words = cutAt(words, this.metaspace);
        if (reverse) words.reverse();
        for (const w of words) yield { ids: this.ids(t.model([w])), added: false };
      }
    }
  }

  private ids(tokens: string[]): number[] {
    const t = this.t;
    return tokens.map((tok) => t.added_tokens_map.get(tok)?.id ?? t.model.tokens_to_ids.get(tok) ?? t.model.unk_token_id ?? 0);
  }

  /** Token ids of the whole text, no special tokens. */
  encode(text: string): Int32Array {
    return this.encodeUpTo(text).ids;
  }

  /**
   * Token ids without special tokens. With `stop`, only whole splits up to the first that reaches
   * `maxTokens` are kept (from the end for left truncation), exactly what Rust keeps; `cut` says
   * whether splits were left out.
   */
  encodeUpTo(text: string, stop?: EarlyStop): { ids: Int32Array; cut: boolean } {
    // Normalizing and pre-tokenizing cover the whole text before the model runs: 5 MB of text
    // kept a tokenizer busy for seconds to keep 512 tokens. The splits before a space that ends
    // a word are the same in a prefix as in the whole text (the normalizers and pre-tokenizers
    // of these tokenizers are local; a word that follows a space starts a split), so when the
    // prefix alone reaches the stop, its kept splits are exactly the whole text's. Left
    // truncation keeps the last splits: the same holds for a suffix that starts at such a space
    // (" word...", as docChunks' pieces start). The part tried grows 8-fold until the stop is
    // reached, so a text of long words costs at most about 8/7 of what it needs.
    if (stop) {
      for (let chars = stop.maxTokens * PREFIX_CHARS_PER_TOKEN; chars < text.length; chars *= 8) {
        const part = stop.direction === 'right' ? prefixAt(text, chars) : suffixAt(text, chars);
        if (part === undefined) break;
        const r = this.encodeSplits(part, stop);
        if (r.reached) return { ids: r.ids, cut: true };
      }
    }
    const r = this.encodeSplits(text, stop);
    return { ids: r.ids, cut: r.cut };
  }

  private encodeSplits(text: string, stop: EarlyStop | undefined): { ids: Int32Array; cut: boolean; reached: boolean } {
    if (text.length === 0) return { ids: new Int32Array(0), cut: false, reached: false };
    const reverse = stop?.direction === 'left';
    const parts: number[][] = [];
    let count = 0;
    let cut = false;
    let reached = false;
    const it = this.splits(text, reverse);
    for (let next = it.next(); !next.done; next = it.next()) {
      const { ids, added } = next.value;
      parts.push(ids);
      count += ids.length;
      // Rust counts added tokens (e.g. a literal [SEP] in the text) but checks the limit only
      // after tokenizing a split with the model (measured against tokenizers 0.23.2).
      if (stop && !added && count >= stop.maxTokens) {
        reached = true;
        cut = !it.next().done;
        break;
      }
    }
    if (reverse) parts.reverse();
    const out = new Int32Array(count);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return { ids: out, cut, reached };
  }
}

/** Texts longer than this many chars per kept token are first tried as a prefix (or suffix). */
const PREFIX_CHARS_PER_TOKEN = 16;

/** The text up to the first space at or after `chars` that follows a non-whitespace char. */
function prefixAt(text: string, chars: number): string | undefined {
  for (let i = text.indexOf(' ', chars); i > 0; i = text.indexOf(' ', i + 1)) {
    if (!/\s/.test(text[i - 1]!)) return text.slice(0, i);
  }
  return undefined;
}

/** The text from the last space that follows a non-whitespace char, at least `chars` from the end. */
function suffixAt(text: string, chars: number): string | undefined {
  for (let i = text.lastIndexOf(' ', text.length - chars); i > 0; i = text.lastIndexOf(' ', i - 1)) {
    if (!/\s/.test(text[i - 1]!)) return text.slice(i);
  }
  return undefined;
}

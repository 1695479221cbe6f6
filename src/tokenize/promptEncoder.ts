/**
 * (query, document) -> ids for decoder LLM rerankers, exactly as their reference code builds them:
 * prefix_ids + body_ids + suffix_ids, each part tokenized on its own without special tokens, and
 * only the body truncated, to max_length - len(prefix_ids) - len(suffix_ids) tokens. The document
 * is the end of Qwen3's body, so the document loses tokens, never the prefix, suffix or query.
 * The model then scores the token that would follow the suffix.
 */
import { AppError } from '../errors';
import { fillBody, type PromptTemplate } from './promptTemplates';
import type { EncodedPair, EncodeOptions } from './types';

export interface TextEncoder {
  /** Token ids of one text, no special tokens added (added tokens in the text are matched). */
  encodeText(text: string): Int32Array;
  /** Optional early stop: at least the first maxTokens ids of the text (exactly those of encodeText). */
  encodeTextUpTo?(text: string, maxTokens: number): Int32Array;
  /** Optional early stop from the end: at least the last maxTokens ids of the text (exactly those of encodeText). */
  encodeTextLast?(text: string, maxTokens: number): Int32Array;
}

function concat(parts: readonly Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** What /info and inspect show of a prompt: its fixed parts' lengths and their first and last ids. */
export interface PromptIds {
  readonly prefixTokens: number;
  readonly suffixTokens: number;
  readonly firstIds: number[];
  readonly lastIds: number[];
}

export class PromptEncoder {
  readonly prefixIds: Int32Array;
  readonly suffixIds: Int32Array;

  constructor(
    private readonly enc: TextEncoder,
    readonly template: PromptTemplate,
  ) {
    this.prefixIds = enc.encodeText(template.prefix);
    this.suffixIds = enc.encodeText(template.suffix);
  }

  summary(): PromptIds {
    return {
      prefixTokens: this.prefixIds.length,
      suffixTokens: this.suffixIds.length,
      firstIds: [...this.prefixIds.subarray(0, 3)],
      lastIds: [...this.suffixIds.subarray(Math.max(0, this.suffixIds.length - 3))],
    };
  }

  /** The instruction a request's value (or its absence) resolves to. */
  instructionFor(requested: string | undefined): string | undefined {
    return this.template.defaultInstruction === undefined ? undefined : requested ?? this.template.defaultInstruction;
  }

  encode(query: string, doc: string | null, opts: EncodeOptions, index = 0): EncodedPair {
    const { head, tail } = fillBody(this.template, query, this.instructionFor(opts.instruction));
    const fixed = this.prefixIds.length + this.suffixIds.length;
    const budget = opts.maxLength - fixed;
    if (budget < 1) {
      throw new AppError('Config', `max length ${opts.maxLength} cannot hold the ${fixed} tokens of the ${this.template.name} prompt`);
    }
    const document = doc ?? '';
    // Truncating on the right with the document last: tokenize only as far as the budget reaches.
    // Truncating: tokenize only as far as the budget reaches. The first budget + 1 ids say whether
    // the body is over it, and are all of it when it is not (a multi-MB document costs no more).
    let body = opts.truncate ? this.first(head + document + tail, budget + 1) : this.enc.encodeText(head + document + tail);
    let truncated = false;
    if (body.length > budget) {
      if (!opts.truncate) {
        throw new AppError(
          'Validation',
          `pair ${index} has ${body.length + fixed} tokens with the prompt, more than the model's ${opts.maxLength} (set truncate=true to cut it)`,
        );
      }
      truncated = true;
      body = this.cutBody(body, head, document, tail, budget, opts);
    }
    const ids = concat([this.prefixIds, body, this.suffixIds]);
    return { ids, typeIds: new Uint8Array(ids.length), truncated };
  }

  /**
   * The reference truncates the tokenized body from the right (truncation='longest_first' on one
   * sequence); with the document last that cuts only the document. A template with text after the
   * document, or left truncation, cuts the document's own ids so the rest of the body survives.
   */
  private cutBody(body: Int32Array, head: string, document: string, tail: string, budget: number, opts: EncodeOptions): Int32Array {
    if (tail === '' && opts.direction === 'right') return body.subarray(0, budget);
    // Exact lengths are needed only up to the budget: a longer head or tail overflows either way.
    const h = this.first(head, budget + 1);
    const t = this.first(tail, budget + 1);
    const keep = budget - h.length - t.length;
    if (keep < 0) return body.subarray(0, budget); // the query alone overflows: as the reference would
    let kept: Int32Array;
    if (opts.direction === 'right') kept = this.first(document, keep).subarray(0, keep);
    else {
      const d = this.enc.encodeTextLast ? this.enc.encodeTextLast(document, keep) : this.enc.encodeText(document);
      kept = d.subarray(d.length - keep);
    }
    return concat([h, kept, t]);
  }

  /** At least the first n ids of a text (all of them when it has fewer), exactly encodeText's. */
  private first(text: string, n: number): Int32Array {
    return this.enc.encodeTextUpTo ? this.enc.encodeTextUpTo(text, n) : this.enc.encodeText(text);
  }
}

/**
 * (query, document) -> ids for decoder LLM rerankers, exactly as their reference code builds them:
 * prefix_ids + body_ids + suffix_ids, each part tokenized on its own without special tokens, and
 * only the body truncated, to max_length - len(prefix_ids) - len(suffix_ids) tokens. The document
 * is the end of Qwen3's body, so the document loses tokens, never the prefix, suffix or query;
 * only when the instruction and query alone exceed that budget does the cut reach them (the body's
 * first tokens are kept, as the reference keeps them; the document is then not scored at all).
 * The model then scores the token that would follow the suffix.
 *
 * Long documents (long_documents=chunk) are covered by windows as for cross-encoders (docChunks.ts):
 * each window is prefix + head + window + tail + suffix, where head/tail are the body's text before
 * and after {document} (instruction, query) and the window is a run of the document's tokens.
 */
import { AppError } from '../errors';
import { coverWithWindows, tokensByWord } from './docChunks';
import { bodyParts, fillBody, type BodyParts, type PromptTemplate } from './promptTemplates';
import type { ChunkOptions, DocChunks, EncodedPair, EncodeOptions } from './types';

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
    if (this.template.parts) return this.encodeParts(bodyParts(this.template, query, this.instructionFor(opts.instruction)), document, budget, opts, index);
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
   * A template tokenized in parts (mxbai-rerank-v2, bge-reranker-v2-gemma): each part alone, as the
   * reference does. Truncation as the references: the query's part is cut to its share of what the
   * variable parts may use (queryShare, 3/4), then the document's part to what is left, keeping
   * the text before the document when cutting on the left.
   */
  private encodeParts(b: BodyParts, document: string, budget: number, opts: EncodeOptions, index: number): EncodedPair {
    const fixed = this.prefixIds.length + this.suffixIds.length;
    const before = b.before.map((p) => this.enc.encodeText(p));
    const docTail = this.enc.encodeText(b.docTail);
    const after = b.after.map((p) => this.enc.encodeText(p));
    const sum = (xs: Int32Array[]): number => xs.reduce((n, x) => n + x.length, 0);
    const others = sum(before) - (b.query >= 0 ? before[b.query]!.length : 0) + docTail.length + sum(after);
    let truncated = false;
    const tooLong = (n: number): AppError =>
      new AppError('Validation', `pair ${index} has ${n + fixed} tokens with the prompt, more than the model's ${opts.maxLength} (set truncate=true to cut it)`);
    const share = this.template.queryShare;
    if (b.query >= 0 && share !== undefined) {
      const cap = Math.floor((budget - others) * share);
      if (before[b.query]!.length > cap) {
        if (!opts.truncate) throw tooLong(sum(before) + docTail.length + sum(after) + this.enc.encodeText(b.docHead + document).length);
        before[b.query] = before[b.query]!.subarray(0, Math.max(0, cap));
        truncated = true;
      }
    }
    const room = budget - sum(before) - docTail.length - sum(after);
    if (room < 1) throw new AppError('Config', `max length ${opts.maxLength} leaves no room for the document in the ${this.template.name} prompt`);
    const early = opts.truncate && opts.direction === 'right' && this.enc.encodeTextUpTo;
    let d = early ? this.enc.encodeTextUpTo!(b.docHead + document, room + 1) : this.enc.encodeText(b.docHead + document);
    if (d.length > room) {
      if (!opts.truncate) throw tooLong(d.length + budget - room);
      truncated = true;
      if (opts.direction === 'right') d = d.subarray(0, room);
      else {
        const h = this.enc.encodeText(b.docHead);
        const ids = this.enc.encodeText(document);
        const keep = Math.max(0, room - h.length);
        d = concat([h.subarray(0, room), ids.subarray(ids.length - keep)]);
      }
    }
    const ids = concat([this.prefixIds, ...before, d, docTail, ...after, this.suffixIds]);
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

  /**
   * Windows over a long document, each wrapped in the whole prompt: the document's share of a
   * window is max_length - prefix - suffix - head - tail tokens (head/tail: the body around
   * {document}, holding the instruction and query), with the stride rules of docChunks.ts. A
   * document that fits gives the one input `encode` gives. The instruction and query are never
   * cut here: when they take more than half of the body's budget the request is a 422 (truncation
   * mode instead cuts the body from the right, as the reference does).
   */
  encodeDocChunks(query: string, doc: string, opts: ChunkOptions): DocChunks {
    const b = bodyParts(this.template, query, this.instructionFor(opts.prompt?.instruction));
    const fixed = this.prefixIds.length + this.suffixIds.length;
    const budget = opts.maxLength - fixed;
    if (budget < 2) {
      throw new AppError('Config', `max length ${opts.maxLength} cannot hold the ${fixed} tokens of the ${this.template.name} prompt and a document window`);
    }
    // The spaces that end the head go with the document, so a window's first word keeps its
    // leading-space token (" The", as when head and document are tokenized together).
    const joiner = /[ ]*$/.exec(b.docHead)![0];
    const half = Math.floor(budget / 2);
    // Stop early: an instruction or query of megabytes is not tokenized past what decides the 422.
    const upTo = (text: string): Int32Array => (text === '' ? new Int32Array(0) : this.enc.encodeTextUpTo ? this.enc.encodeTextUpTo(text, half + 1) : this.enc.encodeText(text));
    const h = concat([...b.before.map(upTo), upTo(b.docHead.slice(0, b.docHead.length - joiner.length))]);
    const t = concat([upTo(b.docTail), ...b.after.map(upTo)]);
    const words = tokensByWord(this.enc, joiner + doc);
    const wrap = (body: Int32Array, cut: boolean): EncodedPair => {
      const ids = concat([this.prefixIds, body, this.suffixIds]);
      return { ids, typeIds: new Uint8Array(ids.length), truncated: cut };
    };
    if (h.length + words.ids.length + t.length <= budget) {
      const whole = this.encode(query, doc, { truncate: true, direction: 'right', maxLength: opts.maxLength, ...(opts.prompt?.instruction !== undefined ? { instruction: opts.prompt.instruction } : {}) });
      if (!whole.truncated) return { pairs: [whole], spans: [[0, doc.length]], complete: true };
    }
    if (h.length + t.length > half) {
      throw new AppError(
        'Validation',
        `long_documents=chunk: the instruction and query take more than half (${half} tokens) of the ${budget}-token prompt body (max length ${opts.maxLength} less ${fixed} prompt tokens), which leaves too little room for document windows; send a shorter query or instruction, or use long_documents=truncate`,
      );
    }
    const shift = joiner.length;
    const shifted = {
      ids: words.ids,
      starts: words.starts.map((x) => Math.max(0, x - shift)),
      ends: words.ends.map((x) => Math.max(0, x - shift)),
    };
    return coverWithWindows(shifted, doc.length, budget - h.length - t.length, opts, (ids, cut) => wrap(concat([h, ids, t]), cut));
  }

  /** At least the first n ids of a text (all of them when it has fewer), exactly encodeText's. */
  private first(text: string, n: number): Int32Array {
    return this.enc.encodeTextUpTo ? this.enc.encodeTextUpTo(text, n) : this.enc.encodeText(text);
  }
}

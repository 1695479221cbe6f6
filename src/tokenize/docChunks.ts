/**
 * Covers a long document with overlapping windows, each a full (query, window) pair, so every part
 * of the document gets scored (the document then takes its best window's score and offsets).
 *
 * The JS tokenizer gives no character offsets, so the document is split into space-led pieces
 * (" word"), each tokenized on its own; every token then maps to its piece's character span. For
 * the pre-tokenizers rerankers use (BERT's, byte-level BPE, Metaspace) no token crosses a space,
 * so the pieces' ids concatenate to exactly the whole document's ids (tested on all three). A
 * tokenizer whose tokens can span spaces would get slightly different ids near word joins; the
 * offsets stay right. Tokenizing the whole document again only to check costs as much again, so a
 * document that fits one window is the only one tokenized whole (its pair equals encodePair's).
 */
import { AppError } from '../errors';
import { fillTemplate, type PairTemplate } from './pairTemplate';
import type { ChunkOptions, DocChunks, EncodedPair } from './types';

/**
 * What chunking needs from an encoder (PairEncoder has it): declared here so docChunks.ts does not
 * import pairEncoder.ts, which imports this module.
 */
export interface ChunkSource {
  readonly template: PairTemplate;
  encodeText(text: string): Int32Array;
}

/**
 * Pieces start only at a plain space that follows a non-space: byte-level BPE and Metaspace add a
 * prefix space to a text that does not start with " ", so a piece starting with a tab or newline
 * would tokenize differently alone than in place. Other whitespace stays inside its piece.
 */
const PIECE_START = /\S(?= )/g;

export interface WordTokens {
  ids: Int32Array;
  /** Per token: the [start, end) chars of its piece, surrounding whitespace excluded. */
  starts: Int32Array;
  ends: Int32Array;
}

function pieceBounds(doc: string): number[] {
  const cuts = [0];
  for (const m of doc.matchAll(PIECE_START)) cuts.push((m.index ?? 0) + 1);
  cuts.push(doc.length);
  return cuts;
}

export function tokensByWord(encoder: Pick<ChunkSource, 'encodeText'>, doc: string): WordTokens {
  const parts: Int32Array[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const cuts = pieceBounds(doc);
  for (let k = 0; k + 1 < cuts.length; k++) {
    const from = cuts[k]!;
    const to = cuts[k + 1]!;
    const text = doc.slice(from, to);
    const ids = encoder.encodeText(text);
    const trimmed = text.trim();
    // A whitespace-only piece (trailing spaces) keeps its own extent.
    const start = trimmed ? from + text.indexOf(trimmed) : from;
    const end = trimmed ? start + trimmed.length : to;
    parts.push(ids);
    for (let i = 0; i < ids.length; i++) {
      starts.push(start);
      ends.push(end);
    }
  }
  const ids = new Int32Array(starts.length);
  let at = 0;
  for (const p of parts) {
    ids.set(p, at);
    at += p.length;
  }
  return { ids, starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
}

/**
 * The query keeps at most half the room so each window carries at least as much document as
 * query; a document that fits whole gives one pair identical to `encodePair`.
 */
export function encodeDocChunks(encoder: ChunkSource, query: string, doc: string, opts: ChunkOptions): DocChunks {
  const template = encoder.template;
  const room = opts.maxLength - template.addedPair;
  if (room < 2) {
    throw new AppError('Config', `max length ${opts.maxLength} leaves no room for a query and a document window`);
  }
  let q = encoder.encodeText(query);
  const words = tokensByWord(encoder, doc);
  if (q.length + words.ids.length <= room) {
    const whole = encoder.encodeText(doc);
    if (q.length + whole.length <= room) {
      return { pairs: [fillTemplate(template.pair, q, whole, false)], spans: [[0, doc.length]], complete: true };
    }
  }
  const qMax = Math.floor(room / 2);
  const queryCut = q.length > qMax;
  if (queryCut) q = q.subarray(0, qMax);
  return coverWithWindows(words, doc, room - q.length, opts, (ids, cut) => fillTemplate(template.pair, q, ids, queryCut || cut));
}

/**
 * The windows over a document's word tokens, `window` document tokens each, consecutive ones
 * sharing `stride` tokens (default min(64, window / 4), at most half a window), and each made a
 * model input by `wrap` (cut: the window is not the whole document). Shared by cross-encoders
 * (query + window in the pair template) and decoder rerankers (the prompt around the window).
 */
export function coverWithWindows(words: WordTokens, doc: string, window: number, opts: ChunkOptions, wrap: (ids: Int32Array, cut: boolean) => EncodedPair): DocChunks {
  // A stride near the window would move each window forward by a token or two: one window per
  // token of the document. At most half a window keeps the windows at most twice the tokens.
  const maxStride = Math.floor(window / 2);
  if (opts.stride !== undefined && opts.stride > maxStride) {
    throw new AppError(
      'Validation',
      `chunk_stride ${opts.stride} is more than half of the ${window}-token document window (model window ${opts.maxLength} less the query and special or prompt tokens); use at most ${maxStride}, so that each window moves forward by half a window or more`,
    );
  }
  const stride = Math.max(0, opts.stride ?? Math.min(64, Math.floor(window / 4)));
  const maxChunks = opts.maxChunks ?? Number.POSITIVE_INFINITY;

  const n = words.ids.length;
  const needed = Math.min(maxChunks, windowCount(n, window, stride));
  if (opts.maxWindows !== undefined && needed > opts.maxWindows) throw tooManyWindows(needed, opts.maxWindows);
  const pairs: EncodedPair[] = [];
  const spans: Array<readonly [number, number]> = [];
  let start = 0;
  for (;;) {
    const end = Math.min(start + window, n);
    pairs.push(wrap(words.ids.subarray(start, end), n > window));
    spans.push(n === 0 ? [0, doc.length] : [words.starts[start] ?? 0, words.ends[end - 1] ?? doc.length]);
    if (end >= n) return { pairs, spans, complete: true };
    if (pairs.length >= maxChunks) return { pairs, spans, complete: false };
    start = end - stride;
  }
}

/** Windows of `window` tokens, `stride` shared, that cover n tokens: arithmetic, nothing built. */
export function windowCount(n: number, window: number, stride: number): number {
  return n <= window ? 1 : 1 + Math.ceil((n - window) / (window - stride));
}

export function tooManyWindows(needed: number, max: number): AppError {
  return new AppError(
    'Validation',
    `long_documents=chunk needs ${needed} windows or more for this request, more than MAX_CHUNK_WINDOWS=${max}; send shorter documents, set max_chunks_per_doc, or use long_documents=truncate`,
  );
}

/**
 * A lower bound of a document's tokens, counted without tokenizing: every space-led piece
 * (docChunks' unit) gives at least one token.
 */
export function minTokens(doc: string): number {
  let pieces = 0;
  let prevSpace = true;
  for (let i = 0; i < doc.length; i++) {
    const space = doc.charCodeAt(i) <= 0x20;
    if (!space && prevSpace) pieces++;
    prevSpace = space;
  }
  return pieces;
}

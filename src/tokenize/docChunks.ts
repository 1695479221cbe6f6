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
  /** At least the first maxTokens ids of the text, exactly those of encodeText (a prefix of whole splits). */
  encodeTextUpTo(text: string, maxTokens: number): Int32Array;
}

/**
 * Pieces start only at a plain space that follows a non-space: byte-level BPE and Metaspace add a
 * prefix space to a text that does not start with " ", so a piece starting with a tab or newline
 * would tokenize differently alone than in place. Other whitespace stays inside its piece.
 */
const PIECE_START = /\S(?= )/g;

/** A document's ids with, per token, the character span of its piece. */
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

/**
 * The document's tokens piece by piece. A long document is cut into text slices at piece starts
 * (sliceBounds) and each slice is tokenized on its own (its own task in the tokenizer pool): the
 * pieces, so the ids, are the same as for the whole document, and `offset` shifts the spans.
 */
export function tokensByWord(encoder: Pick<ChunkSource, 'encodeText'>, doc: string, offset = 0): WordTokens {
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
    const start = (trimmed ? from + text.indexOf(trimmed) : from) + offset;
    const end = trimmed ? start + trimmed.length : to + offset;
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

/** Document-window room of a pair: the model window less the pair's special tokens. */
export function chunkRoom(template: PairTemplate, opts: ChunkOptions): number {
  const room = opts.maxLength - template.addedPair;
  if (room < 2) {
    throw new AppError('Config', `max length ${opts.maxLength} leaves no room for a query and a document window`);
  }
  return room;
}

/**
 * The query's ids as far as chunking can use them: all of them when they fit the room, else at
 * least room + 1 (the query is then cut to half the room anyway), so a huge query is not tokenized whole.
 */
export function chunkQuery(encoder: ChunkSource, query: string, room: number): Int32Array {
  return encoder.encodeTextUpTo(query, room + 1);
}

/**
 * The query keeps at most half the room so each window carries at least as much document as
 * query; a document that fits whole gives one pair identical to `encodePair`.
 */
export function encodeDocChunks(encoder: ChunkSource, query: string, doc: string, opts: ChunkOptions): DocChunks {
  const template = encoder.template;
  const room = chunkRoom(template, opts);
  const q = chunkQuery(encoder, query, room);
  const words = tokensByWord(encoder, doc);
  if (q.length + words.ids.length <= room) {
    const whole = encoder.encodeText(doc);
    if (q.length + whole.length <= room) {
      return { pairs: [fillTemplate(template.pair, q, whole, false)], spans: [[0, doc.length]], complete: true };
    }
  }
  return buildWindows(template, q, words, doc.length, opts);
}

/** The window and stride for a query of qLength tokens (a 422 for a stride over half the window). */
export function windowShape(room: number, qLength: number, opts: ChunkOptions): { window: number; stride: number } {
  const window = room - Math.min(qLength, Math.floor(room / 2));
  return { window, stride: strideFor(window, opts) };
}

/** The stride between windows of `window` tokens: a 422 for one over half the window. */
export function strideFor(window: number, opts: ChunkOptions): number {
  // A stride near the window would move each window forward by a token or two: one window per
  // token of the document. At most half a window keeps the windows at most twice the tokens.
  const maxStride = Math.floor(window / 2);
  if (opts.stride !== undefined && opts.stride > maxStride) {
    throw new AppError(
      'Validation',
      `chunk_stride ${opts.stride} is more than half of the ${window}-token document window (model window ${opts.maxLength} less the query and special or prompt tokens); use at most ${maxStride}, so that each window moves forward by half a window or more`,
    );
  }
  return Math.max(0, opts.stride ?? Math.min(64, Math.floor(window / 4)));
}

/**
 * The windows of a document that does not fit one pair, from its tokens (whole, or joined from
 * slices): the window budget is checked from the token count before any window is built.
 */
export function buildWindows(template: PairTemplate, query: Int32Array, words: WordTokens, docLength: number, opts: ChunkOptions): DocChunks {
  const room = chunkRoom(template, opts);
  const qMax = Math.floor(room / 2);
  const queryCut = query.length > qMax;
  const q = queryCut ? query.subarray(0, qMax) : query;
  return coverWithWindows(words, docLength, room - q.length, opts, (ids, cut) => fillTemplate(template.pair, q, ids, queryCut || cut));
}

/**
 * The windows over a document's word tokens, `window` document tokens each, consecutive ones
 * sharing `stride` tokens (default min(64, window / 4), at most half a window), and each made a
 * model input by `wrap` (cut: the window is not the whole document). Shared by cross-encoders
 * (query + window in the pair template) and decoder rerankers (the prompt around the window).
 * The window budget is checked from the token count before any window is built.
 */
export function coverWithWindows(words: WordTokens, docLength: number, window: number, opts: ChunkOptions, wrap: (ids: Int32Array, cut: boolean) => EncodedPair): DocChunks {
  const stride = strideFor(window, opts);
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
    spans.push(n === 0 ? [0, docLength] : [words.starts[start] ?? 0, words.ends[end - 1] ?? docLength]);
    if (end >= n) return { pairs, spans, complete: true };
    if (pairs.length >= maxChunks) return { pairs, spans, complete: false };
    start = end - stride;
  }
}

/**
 * Tokens of the document that the windows can use: with maxChunks, the windows end at a known
 * token, and the rest of the document changes nothing (only that there is more of it).
 */
export function tokensUsed(window: number, stride: number, maxChunks: number | undefined): number {
  return maxChunks === undefined ? Number.POSITIVE_INFINITY : (maxChunks - 1) * (window - stride) + window;
}

/** Characters per text slice of a long document (about 50 ms of tokenizing on a loaded 2-core machine). */
export const SLICE_CHARS = 16 * 1024;

/** [from, to) text slices of a document, each cut at a piece start (see PIECE_START) near SLICE_CHARS. */
export function sliceBounds(doc: string, sliceChars = SLICE_CHARS): Array<readonly [number, number]> {
  const out: Array<readonly [number, number]> = [];
  const re = /\S(?= )/g;
  let from = 0;
  while (doc.length - from > sliceChars) {
    re.lastIndex = from + sliceChars - 1;
    const m = re.exec(doc);
    if (!m) break;
    const cut = m.index + 1;
    out.push([from, cut]);
    from = cut;
  }
  out.push([from, doc.length]);
  return out;
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

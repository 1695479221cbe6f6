/** Shapes shared by the pair encoder, its worker pool and the batch packer. */
export type TruncationSide = 'right' | 'left';

/** A (query, document) pair; a null second text means one sequence (classifiers' single-text input). */
export type TextPair = readonly [string, string | null];

export interface EncodeOptions {
  /** Truncate with longest_first (keeping special tokens); false: a too-long pair is a 422. */
  readonly truncate: boolean;
  readonly direction: TruncationSide;
  /** Model window including special tokens. */
  readonly maxLength: number;
  /** Decoder LLM rerankers: the prompt's instruction (undefined: the spec's default). */
  readonly instruction?: string;
}

/** One encoded (query, document) pair. */
export interface EncodedPair {
  readonly ids: Int32Array;
  /** Segment ids (0 for the query part, 1 for the document part) per the tokenizer's template. */
  readonly typeIds: Uint8Array;
  readonly truncated: boolean;
}

/**
 * Many pairs packed for transfer between threads: ids of pair i are
 * ids.subarray(offsets[i], offsets[i + 1]).
 */
export interface PackedPairs {
  readonly ids: Int32Array;
  readonly typeIds: Uint8Array;
  readonly offsets: Int32Array;
  readonly truncated: Uint8Array;
}

/** Options for covering a long document with overlapping windows. */
export interface ChunkOptions {
  /** Model window including special tokens. */
  readonly maxLength: number;
  /** Document tokens shared by consecutive windows (HF's `stride`); default min(64, window/4). */
  readonly stride?: number;
  /** Stop after this many windows (the rest of the document is not covered); default no limit. */
  readonly maxChunks?: number;
  /**
   * A document that needs more windows than this is a 422 (MAX_CHUNK_WINDOWS), decided from its
   * token count before any window is built; default no limit.
   */
  readonly maxWindows?: number;
  /**
   * Decoder LLM rerankers: each window is wrapped in the model's prompt (promptEncoder.ts), with
   * this instruction (undefined: the template's default). Absent: plain pair-template windows.
   */
  readonly prompt?: { readonly instruction?: string };
}

/** One document's windows: pairs[i] covers doc.slice(spans[i][0], spans[i][1]). */
export interface DocChunks {
  readonly pairs: EncodedPair[];
  /** UTF-16 offsets into the document, widened to whole space-delimited pieces (words). */
  readonly spans: Array<readonly [number, number]>;
  /** False when maxChunks stopped before the end of the document. */
  readonly complete: boolean;
}

/**
 * Windows of many documents packed for transfer: window w belongs to input pair pairIndex[w] and
 * covers that document's chars spans[2w]..spans[2w+1].
 */
export interface PackedChunks extends PackedPairs {
  readonly pairIndex: Int32Array;
  readonly spans: Int32Array;
}

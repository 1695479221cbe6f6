/**
 * Messages between the tokenizer pool and its workers. Errors cross the thread boundary as plain
 * data (structured clone keeps neither the class nor its fields), and are rebuilt on the main
 * thread so an AppError keeps its error_type and status: a 422 stays a 422.
 */
import { AppError, STATUS_BY_TYPE, type ErrorType } from '../errors';
import type { WordTokens } from './docChunks';
import type { PairTemplate } from './pairTemplate';
import type { PromptTemplate } from './promptTemplates';
import type { PromptIds } from './promptEncoder';
import type { ChunkOptions, EncodeOptions, PackedChunks, PackedPairs, TextPair } from './types';
import type { TokenizerFiles } from './tokenizerFiles';

/** Structured-cloned into each worker: the parsed files (never a folder to search), and for decoder
 * LLM rerankers the prompt pairs become (promptEncoder.ts) instead of the pair template. */
export type WorkerInit = TokenizerFiles & { readonly prompt?: PromptTemplate };

export type ToWorker =
  | { readonly type: 'pairs'; readonly id: number; readonly base: number; readonly pairs: readonly TextPair[]; readonly opts: EncodeOptions }
  | { readonly type: 'chunks'; readonly id: number; readonly base: number; readonly pairs: ReadonlyArray<readonly [string, string]>; readonly opts: ChunkOptions }
  /** One text slice of a long document (docChunks.ts sliceBounds); spans are shifted by offset. */
  | { readonly type: 'words'; readonly id: number; readonly text: string; readonly offset: number }
  /** A text's first ids (at least maxTokens of them when it has that many). */
  | { readonly type: 'text'; readonly id: number; readonly text: string; readonly maxTokens: number };

export interface WireError {
  readonly message: string;
  readonly errorType?: ErrorType;
  readonly stack?: string;
}

export type FromWorker =
  | { readonly type: 'ready'; readonly template: PairTemplate; readonly promptIds?: PromptIds }
  | { readonly type: 'initError'; readonly error: WireError }
  | { readonly type: 'pairs'; readonly id: number; readonly packed: PackedPairs }
  | { readonly type: 'chunks'; readonly id: number; readonly packed: PackedChunks }
  | { readonly type: 'words'; readonly id: number; readonly words: WordTokens }
  | { readonly type: 'text'; readonly id: number; readonly ids: Int32Array }
  | { readonly type: 'error'; readonly id: number; readonly error: WireError };

export function toWire(e: unknown): WireError {
  if (e instanceof AppError) return { message: e.message, errorType: e.errorType, ...(e.stack ? { stack: e.stack } : {}) };
  if (e instanceof Error) return { message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  return { message: String(e) };
}

/** An AppError when the worker threw one; otherwise a plain Error (a bug, not a client mistake). */
export function fromWire(w: WireError): Error {
  const e = w.errorType !== undefined && w.errorType in STATUS_BY_TYPE ? new AppError(w.errorType, w.message) : new Error(`tokenizer worker: ${w.message}`);
  if (w.stack) e.stack = `${e.name}: ${e.message}\n    (in tokenizer worker)\n${w.stack.split('\n').slice(1).join('\n')}`;
  return e;
}

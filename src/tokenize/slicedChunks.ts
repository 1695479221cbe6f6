/**
 * Windows of one long document (long_documents=chunk) tokenized in slices: the text is cut at piece
 * starts (docChunks.ts sliceBounds) and each slice is its own tokenizer task, so a 2.4 MB document
 * is some 150 tasks of ~50 ms that take turns with other requests' tasks, instead of one task of
 * seconds that every other request waits behind. The ids are those of the whole document (a
 * document is tokenized piece by piece either way); the windows are built here from the joined
 * tokens, with the same code the worker uses (docChunks.ts buildWindows).
 *
 * Work stops at the next slice when the answer is known early: the window budget (MAX_CHUNK_WINDOWS)
 * is checked against the tokens so far as slices come back, and with max_chunks_per_doc the slices
 * past the last window's end are not tokenized at all. A cancelled request's slices are dropped by
 * the pool's queue (its AbortSignal).
 */
import { packChunks } from './packPairs';
import type { PairTemplate } from './pairTemplate';
import { buildWindows, chunkRoom, sliceBounds, tokensUsed, tooManyWindows, windowCount, windowShape, type WordTokens } from './docChunks';
import type { ChunkOptions, PackedChunks } from './types';
import type { ToWorker } from './workerProtocol';

/** Queues one task for the request (the pool binds its signal); `live` false: skip it, unsent. */
export type RunTask = <T>(size: number, message: (id: number) => ToWorker, live?: () => boolean) => Promise<T>;

/** Thrown by the pool for a task skipped because its result was no longer needed. */
export class SkippedTask extends Error {
  constructor() {
    super('tokenizer task skipped: its result is no longer needed');
  }
}

function join(parts: readonly WordTokens[]): WordTokens {
  const total = parts.reduce((n, p) => n + p.ids.length, 0);
  const ids = new Int32Array(total);
  const starts = new Int32Array(total);
  const ends = new Int32Array(total);
  let at = 0;
  for (const p of parts) {
    ids.set(p.ids, at);
    starts.set(p.starts, at);
    ends.set(p.ends, at);
    at += p.ids.length;
  }
  return { ids, starts, ends };
}

/**
 * The packed windows of (query, doc), window pairIndex `base`; 'whole' when the document turns out
 * to fit one pair (the caller then encodes it whole, exactly as a short document).
 */
export async function longDocChunks(run: RunTask, template: PairTemplate, query: string, doc: string, opts: ChunkOptions, base: number): Promise<PackedChunks | 'whole'> {
  const room = chunkRoom(template, opts);
  const bounds = sliceBounds(doc);
  const parts = new Array<WordTokens | undefined>(bounds.length);
  let q: Int32Array | undefined;
  let tokens = 0;
  /** Tokens of the document the windows can use (max_chunks_per_doc), once the query is known. */
  let usable = Number.POSITIVE_INFINITY;
  /** The window and stride, once the query is known; until then a window of the whole room, no stride. */
  let shape = { window: room, stride: 0 };
  let stopped = false;
  const live = (): boolean => !stopped;

  const check = (): void => {
    // A floor of the windows from the tokens so far (a window holds at most `room` tokens).
    const floor = Math.min(opts.maxChunks ?? Number.POSITIVE_INFINITY, windowCount(tokens, shape.window, shape.stride));
    if (opts.maxWindows !== undefined && floor > opts.maxWindows) {
      stopped = true;
      throw tooManyWindows(floor, opts.maxWindows);
    }
    let prefix = 0;
    for (let k = 0; k < parts.length && parts[k]; k++) prefix += parts[k]!.ids.length;
    if (prefix > usable) stopped = true;
  };

  const halt = (e: unknown): never => {
    stopped = true;
    throw e;
  };
  const queryTask = run<Int32Array>(query.length, (id) => ({ type: 'text', id, text: query, maxTokens: room + 1 })).then((ids) => {
    q = ids;
    shape = windowShape(room, ids.length, opts);
    if (opts.maxChunks !== undefined) usable = tokensUsed(shape.window, shape.stride, opts.maxChunks);
    check();
  }, halt);
  const sliceTasks = bounds.map(([from, to], k) =>
    run<WordTokens>(to - from, (id) => ({ type: 'words', id, text: doc.slice(from, to), offset: from }), live).then((w) => {
      parts[k] = w;
      tokens += w.ids.length;
      check();
    }, halt),
  );
  const settled = await Promise.allSettled([queryTask, ...sliceTasks]);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !(s.reason instanceof SkippedTask));
  if (failed) {
    stopped = true;
    throw failed.reason;
  }
  const got: WordTokens[] = [];
  for (const p of parts) {
    if (!p) break;
    got.push(p);
  }
  const words = join(got);
  if (got.length === parts.length && q!.length + words.ids.length <= room) return 'whole';
  return packChunks([buildWindows(template, q!, words, doc.length, opts)], base);
}

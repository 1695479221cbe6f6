/**
 * Scoring of documents longer than the model window: each document is covered by overlapping
 * windows (the tokenizer pool's encodeDocChunks), every window is scored through the same batch
 * queue as ordinary pairs, and the document takes its best window's score and character span.
 *
 * Documents are encoded in small groups, and each group enters the queue as soon as it is encoded,
 * so inference of the first windows overlaps tokenization of the rest (the window count of a
 * group is only known once it is encoded, hence one queue request per group).
 *
 * Also here: cutting documents to a token budget (Cohere's max_tokens_per_doc), which uses the
 * same word-aligned windows to find where the budget ends.
 */
import { AppError } from '../errors';
import type { Scheduler } from '../batching/scheduler';
import type { ModelSpec } from '../modelSpec/types';
import type { TokenizerPool } from '../tokenize/tokenizerPool';
import type { PackedChunks } from '../tokenize/types';
import type { Permits } from './permits';
import type { ScoreResult } from './scoreTypes';
import { abortError, queueItems, stageTimings } from './scoringSteps';
import { minTokens, tooManyWindows } from '../tokenize/docChunks';

export interface ChunkedScoreOptions {
  /** Document tokens shared by consecutive windows; default min(64, window / 4). */
  readonly stride?: number;
  /** Windows per document at most (the rest of a longer document is not scored); default no limit. */
  readonly maxChunks?: number;
  /** Windows per request at most (MAX_CHUNK_WINDOWS): checked from lengths before tokenizing, then exactly before building. */
  readonly maxWindows?: number;
  /** Decoder LLM rerankers: the prompt's instruction (undefined: the spec's default). */
  readonly instruction?: string;
  readonly signal?: AbortSignal;
}

export interface ChunkedScoreResult extends ScoreResult {
  /** Per document: the winning window's [start, end) UTF-16 offsets into the document. */
  readonly spans: Array<readonly [number, number]>;
  /** Per document: how many windows were scored. */
  readonly windows: Int32Array;
}

export interface ChunkDeps {
  readonly spec: ModelSpec;
  readonly tokenizer: TokenizerPool;
  readonly scheduler: Scheduler;
  readonly permits: Permits;
}

/** Documents per encode task at most: a long document keeps a tokenizer busy on its own. */
const GROUP = 8;
/** Characters per encode task (but at least one document): tasks stay short, so the tokenizer queue stays fair. */
const GROUP_CHARS = 64 * 1024;

/** Where the next task's documents end: up to GROUP documents and GROUP_CHARS characters, at least one. */
function groupEnd(pairs: ReadonlyArray<readonly [string, string]>, base: number): number {
  let end = base + 1;
  let chars = pairs[base]![1].length;
  while (end < pairs.length && end - base < GROUP && chars + pairs[end]![1].length <= GROUP_CHARS) chars += pairs[end++]![1].length;
  return end;
}

export async function scoreDocChunks(deps: ChunkDeps, pairs: ReadonlyArray<readonly [string, string]>, opts: ChunkedScoreOptions): Promise<ChunkedScoreResult> {
  const { spec, tokenizer, scheduler, permits } = deps;
  if (spec.numLabels !== 1) throw new AppError('Validation', `chunked scoring needs a one-logit reranker; this model has ${spec.numLabels} labels`);
  if (opts.maxWindows !== undefined) {
    // Every space-led piece is a token or more and a window holds at most maxInputLength tokens:
    // a floor of the windows, known before any tokenizing.
    const step = spec.maxInputLength;
    let floor = 0;
    for (const [, doc] of pairs) {
      const n = minTokens(doc);
      floor += Math.min(opts.maxChunks ?? Number.POSITIVE_INFINITY, n <= step ? 1 : 1 + Math.ceil((n - step) / step));
    }
    if (floor > opts.maxWindows) throw tooManyWindows(floor, opts.maxWindows);
  }
  // Permits for one window per document now; the extra windows are admitted once they are known.
  const releases = [permits.acquire(pairs.length)];
  const opened: number[] = [];
  const onAbort = (): void => opened.forEach((id) => scheduler.cancel(id, abortError(opts.signal)));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const t0 = performance.now();
  let tokenizedAt = t0;
  const chunkOpts = {
    maxLength: spec.maxInputLength,
    ...(opts.stride !== undefined ? { stride: opts.stride } : {}),
    ...(opts.maxChunks !== undefined ? { maxChunks: opts.maxChunks } : {}),
    ...(opts.maxWindows !== undefined ? { maxWindows: opts.maxWindows } : {}),
    // A decoder reranker's windows are wrapped in its prompt (tokenize/promptEncoder.ts).
    ...(spec.yesNo ? { prompt: opts.instruction !== undefined ? { instruction: opts.instruction } : {} } : {}),
  };
  let windowsSoFar = 0;
  // Fires on the first failed group too, so the groups still queued for a tokenizer are dropped.
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  try {
    const groups: Array<Promise<{ packed: PackedChunks; base: number; logits: Float32Array; inferenceMs: number }>> = [];
    for (let base = 0, end = 0; base < pairs.length; base = end) {
      end = groupEnd(pairs, base);
      const slice = pairs.slice(base, end);
      groups.push(
        tokenizer.encodeDocChunks(slice, chunkOpts, signal).then(async (packed) => {
          tokenizedAt = Math.max(tokenizedAt, performance.now());
          if (opts.signal?.aborted) throw abortError(opts.signal);
          const n = packed.pairIndex.length;
          windowsSoFar += n;
          if (opts.maxWindows !== undefined && windowsSoFar > opts.maxWindows) throw tooManyWindows(windowsSoFar, opts.maxWindows);
          releases.push(permits.acquire(Math.max(0, n - slice.length)));
          const { id, done } = scheduler.open(n);
          opened.push(id);
          done.catch(() => undefined);
          // Window w of the group is queued as item w; pairIndex maps it back to its document.
          scheduler.add(id, queueItems(packed));
          const r = await done;
          return { packed, base, ...r };
        }),
      );
    }
    groups.forEach((g) => g.catch((e: unknown) => stop.abort(e)));
    const settled = await Promise.allSettled(groups);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      opened.forEach((id) => scheduler.cancel(id, failed.reason as Error));
      throw failed.reason;
    }
    const results = settled.map((s) => (s as PromiseFulfilledResult<Awaited<(typeof groups)[number]>>).value);
    return reduce(pairs.length, results, t0, tokenizedAt);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    releases.forEach((r) => r());
  }
}

/**
 * Best window per document (one logit, so the highest logit is the highest score for any monotone
 * activation; for a decoder reranker the logit is the window's log-odds, or its raw true-token logit).
 */
function reduce(
  docs: number,
  groups: ReadonlyArray<{ packed: PackedChunks; base: number; logits: Float32Array; inferenceMs: number }>,
  t0: number,
  tokenizedAt: number,
): ChunkedScoreResult {
  const logits = new Float32Array(docs).fill(Number.NEGATIVE_INFINITY);
  const spans: Array<readonly [number, number]> = new Array(docs);
  const windows = new Int32Array(docs);
  const pairTokens = new Int32Array(docs);
  let tokens = 0;
  let truncated = 0;
  let inferenceMs = 0;
  for (const g of groups) {
    const p = g.packed;
    // Groups share batches, so summing would count a batch once per group in it; the longest is a floor.
    inferenceMs = Math.max(inferenceMs, g.inferenceMs);
    tokens += p.ids.length;
    for (let w = 0; w < p.pairIndex.length; w++) {
      const doc = g.base + p.pairIndex[w]!;
      windows[doc]! += 1;
      pairTokens[doc]! += p.offsets[w + 1]! - p.offsets[w]!;
      if (p.truncated[w]) truncated++;
      const x = g.logits[w]!;
      if (spans[doc] === undefined || x > logits[doc]!) {
        logits[doc] = x;
        spans[doc] = [p.spans[2 * w]!, p.spans[2 * w + 1]!];
      }
    }
  }
  return {
    logits,
    numLabels: 1,
    tokens,
    pairTokens,
    truncated,
    spans,
    windows,
    timings: stageTimings(t0, tokenizedAt, inferenceMs),
  };
}

/** Special tokens a pair adds (e.g. 3 for BERT), learnt once per pool by encoding an empty pair. */
const addedPairTokens = new WeakMap<TokenizerPool, Promise<number>>();

function addedPair(tokenizer: TokenizerPool): Promise<number> {
  let p = addedPairTokens.get(tokenizer);
  if (!p) {
    p = tokenizer.encodeDocChunks([['', '']], { maxLength: 1024 }).then((packed) => packed.ids.length);
    p.catch(() => addedPairTokens.delete(tokenizer));
    addedPairTokens.set(tokenizer, p);
  }
  return p;
}

/** First try this many chars per token of budget: far more than any real text needs, yet a bounded amount of work. */
const CHARS_PER_TOKEN = 16;

/**
 * Cuts each document to its longest prefix of whole words that tokenizes (alone, without special
 * tokens) to at most maxTokens tokens: Cohere's max_tokens_per_doc, applied before the usual pair
 * truncation or chunking. A first word longer than the budget is kept whole, so no document
 * becomes empty. Documents that cannot reach the budget (2 tokens per UTF-8 byte at most) are not
 * tokenized at all; long ones are tokenized only as far as a word boundary well past the budget.
 */
export async function truncateDocuments(tokenizer: TokenizerPool, docs: readonly string[], maxTokens: number, signal?: AbortSignal): Promise<string[]> {
  if (!Number.isInteger(maxTokens) || maxTokens < 2) throw new AppError('Validation', `max_tokens_per_doc must be an integer >= 2, got ${maxTokens}`);
  const out = [...docs];
  const todo = docs.map((_, i) => i).filter((i) => 2 * Buffer.byteLength(docs[i]!) + 2 > maxTokens);
  if (todo.length === 0) return out;
  const windowOpts = { maxLength: maxTokens + (await addedPair(tokenizer)), stride: 0, maxChunks: 2 };
  const cutAll = async (idx: number[], prefixOf: (doc: string) => string): Promise<number[]> => {
    const prefixes = idx.map((i) => prefixOf(docs[i]!));
    const packed = await tokenizer.encodeDocChunks(
      prefixes.map((p) => ['', p] as const),
      windowOpts,
      signal,
    );
    const firstWindow = new Int32Array(idx.length).fill(-1);
    const cut = new Array<boolean>(idx.length).fill(false);
    for (let w = 0; w < packed.pairIndex.length; w++) {
      const k = packed.pairIndex[w]!;
      const w0 = firstWindow[k]!;
      if (w0 < 0) {
        firstWindow[k] = w;
        continue;
      }
      // A second window exists: the budget ends inside this prefix. The second window's first
      // word starts at spans[2w]; when that word also ends the first window it was split: drop it.
      const end0 = packed.spans[2 * w0 + 1]!;
      const start1 = packed.spans[2 * w]!;
      const at = start1 < end0 && start1 > 0 ? start1 : end0;
      out[idx[k]!] = docs[idx[k]!]!.slice(0, at).trimEnd();
      cut[k] = true;
    }
    // A prefix that fits the budget says nothing about the rest of its document: try it whole.
    return idx.filter((i, k) => !cut[k] && prefixes[k]!.length < docs[i]!.length);
  };
  const retry = await cutAll(todo, (d) => wordPrefix(d, maxTokens * CHARS_PER_TOKEN));
  if (retry.length > 0) await cutAll(retry, (d) => d);
  return out;
}

/**
 * The document up to the first word end at or after `chars`. Cut where a space follows a non-space,
 * the same place docChunks starts a piece, so every word inside keeps its tokens.
 */
function wordPrefix(doc: string, chars: number): string {
  if (doc.length <= chars) return doc;
  const re = /\S(?= )/g;
  re.lastIndex = chars;
  const m = re.exec(doc);
  return m ? doc.slice(0, m.index + 1) : doc;
}

/**
 * Scoring through the result cache (engine/resultCache.ts): pairs found there keep their logits,
 * tokens and (long documents) winning window; only the others go to the engine, in one call, and
 * are stored afterwards. Without a cache (RESULT_CACHE_MB=0, or the request sent
 * `Cache-Control: no-cache`) everything is scored, as before.
 */
import type { ScoreResult } from '../../engine/reranker';
import type { ScoreKey } from '../../engine/resultCache';
import type { TextPair } from '../../tokenize/types';
import type { RequestContext } from '../context';
import { Slicer, yieldToLoop } from '../slices';

export interface Scores {
  /** Row-major [pairs, width] logits, in input order. */
  readonly logits: Float32Array;
  readonly pairTokens: Int32Array;
  readonly spans?: Array<readonly [number, number]>;
  readonly windows?: Int32Array;
}

type Engine = (pairs: TextPair[]) => Promise<ScoreResult & { readonly spans?: Array<readonly [number, number]>; readonly windows?: Int32Array }>;

const NO_TIME = { tokenizationMs: 0, queueMs: 0, inferenceMs: 0, totalMs: 0 };

export async function cachedScores(ctx: RequestContext, pairs: readonly TextPair[], key: ScoreKey, width: number, engine: Engine): Promise<Scores> {
  const cache = ctx.cache;
  if (!cache) return engine([...pairs]);
  // The size limit was checked at the HTTP edge (ctx.checkBatchSize) before any pair was built.
  // Hashing and looking up tens of thousands of keys is sliced (slices.ts) like the rest of a large request.
  const slicer = new Slicer(ctx.signal);
  const keys = new Array<string>(pairs.length);
  const found = new Array<ReturnType<typeof cache.get>>(pairs.length);
  const missing: number[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const [q, d] = pairs[i]!;
    keys[i] = cache.key(q, d, key);
    found[i] = cache.get(keys[i]!);
    if (found[i] === undefined) missing.push(i);
    if ((i & 255) === 255) await slicer.tick();
  }

  const logits = new Float32Array(pairs.length * width);
  const pairTokens = new Int32Array(pairs.length);
  const chunked = key.mode === 'chunk';
  const spans: Array<readonly [number, number]> | undefined = chunked ? new Array(pairs.length) : undefined;
  const windows = chunked ? new Int32Array(pairs.length) : undefined;
  let hitUnits = 0;
  let hitTokens = 0;
  found.forEach((f, i) => {
    if (!f) return;
    logits.set(f.logits, i * width);
    pairTokens[i] = f.tokens;
    hitTokens += f.tokens;
    hitUnits += f.windows ?? 1;
    if (spans && f.span) spans[i] = f.span;
    if (windows) windows[i] = f.windows ?? 1;
  });
  // Usage counts what the request asked for, cached or not: billing and tokens do not depend on the cache.
  if (hitUnits > 0) ctx.addTimings(NO_TIME, { pairs: hitUnits, tokens: hitTokens });

  if (missing.length > 0) {
    const r = await engine(missing.map((i) => pairs[i]!));
    for (let k = 0; k < missing.length; k++) {
      const i = missing[k]!;
      const own = r.logits.slice(k * width, (k + 1) * width);
      logits.set(own, i * width);
      pairTokens[i] = r.pairTokens[k]!;
      const span = r.spans?.[k];
      if (spans && span) spans[i] = span;
      if (windows && r.windows) windows[i] = r.windows[k]!;
      cache.set(keys[i]!, { logits: own, tokens: r.pairTokens[k]!, ...(span ? { span } : {}), ...(r.windows ? { windows: r.windows[k]! } : {}) });
      // The scores are in hand: a client gone now still gets them cached, so only yield, never stop.
      if ((k & 1023) === 1023) await yieldToLoop();
    }
  }
  return { logits, pairTokens, ...(spans ? { spans } : {}), ...(windows ? { windows } : {}) };
}

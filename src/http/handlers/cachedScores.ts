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
  const keys = pairs.map(([q, d]) => cache.key(q, d, key));
  const found = keys.map((k) => cache.get(k));
  const missing: number[] = [];
  found.forEach((f, i) => f === undefined && missing.push(i));

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
    missing.forEach((i, k) => {
      const own = r.logits.slice(k * width, (k + 1) * width);
      logits.set(own, i * width);
      pairTokens[i] = r.pairTokens[k]!;
      const span = r.spans?.[k];
      if (spans && span) spans[i] = span;
      if (windows && r.windows) windows[i] = r.windows[k]!;
      cache.set(keys[i]!, { logits: own, tokens: r.pairTokens[k]!, ...(span ? { span } : {}), ...(r.windows ? { windows: r.windows[k]! } : {}) });
    });
  }
  return { logits, pairTokens, ...(spans ? { spans } : {}), ...(windows ? { windows } : {}) };
}

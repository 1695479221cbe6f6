/**
 * How far a quantized model's scores are from the fp32 model's on the same pairs: max and mean
 * |difference|, Spearman rank correlation per query, and whether each query's top-1 document and
 * top-3 set stay the same. Pure: score arrays in, report out.
 */
export interface QueryScores {
  readonly query: string;
  readonly reference: readonly number[];
  readonly candidate: readonly number[];
}

export interface FidelityReport {
  readonly queries: number;
  readonly pairs: number;
  readonly maxAbsDiff: number;
  readonly meanAbsDiff: number;
  /** mean over queries with at least 2 documents */
  readonly spearmanMean: number;
  readonly spearmanMin: number;
  /** fraction of queries whose best document is the same */
  readonly top1Agreement: number;
  /** fraction of queries whose 3 best documents are the same set */
  readonly top3Agreement: number;
}

/** Ranks with ties sharing their average rank (what Spearman's rho needs). */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Pearson correlation of the ranks; 1 when either side is constant and both agree exactly. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  const ma = ra.reduce((s, x) => s + x, 0) / n;
  const mb = rb.reduce((s, x) => s + x, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  if (da === 0 || db === 0) return da === db ? 1 : 0;
  return num / Math.sqrt(da * db);
}

function topK(xs: readonly number[], k: number): number[] {
  return xs.map((x, i) => [x, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map(([, i]) => i).sort((a, b) => a - b);
}

export function fidelity(groups: readonly QueryScores[]): FidelityReport {
  let max = 0;
  let sum = 0;
  let pairs = 0;
  const rhos: number[] = [];
  let top1 = 0;
  let top3 = 0;
  for (const g of groups) {
    if (g.reference.length !== g.candidate.length) throw new Error(`query ${g.query}: ${g.reference.length} reference scores but ${g.candidate.length} candidate scores`);
    for (let i = 0; i < g.reference.length; i++) {
      const d = Math.abs(g.reference[i]! - g.candidate[i]!);
      max = Math.max(max, d);
      sum += d;
      pairs++;
    }
    if (g.reference.length >= 2) rhos.push(spearman(g.reference, g.candidate));
    if (topK(g.reference, 1)[0] === topK(g.candidate, 1)[0]) top1++;
    if (topK(g.reference, 3).join() === topK(g.candidate, 3).join()) top3++;
  }
  const q = groups.length || 1;
  return {
    queries: groups.length,
    pairs,
    maxAbsDiff: max,
    meanAbsDiff: pairs ? sum / pairs : 0,
    spearmanMean: rhos.length ? rhos.reduce((s, x) => s + x, 0) / rhos.length : 1,
    spearmanMin: rhos.length ? Math.min(...rhos) : 1,
    top1Agreement: top1 / q,
    top3Agreement: top3 / q,
  };
}

export function formatFidelity(r: FidelityReport): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
  return [
    `fidelity vs fp32 on ${r.pairs} pairs, ${r.queries} queries:`,
    `  |score difference| max ${r.maxAbsDiff.toFixed(5)}, mean ${r.meanAbsDiff.toFixed(5)} (raw logits)`,
    `  Spearman per query: mean ${r.spearmanMean.toFixed(4)}, min ${r.spearmanMin.toFixed(4)}`,
    `  top-1 agreement ${pct(r.top1Agreement)}, top-3 agreement ${pct(r.top3Agreement)}`,
  ].join('\n');
}

/**
 * Answers built in slices (http/ranking.ts, http/answer.ts, http/body.ts) are exactly what the
 * one-shot versions give: the same order as a plain sort, the same text as JSON.stringify, the same
 * depth verdict, and the slicer does yield to the event loop on large inputs.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { encodeJsonSliced } from '../../src/http/answer';
import { jsonTooDeep, parseJsonSliced } from '../../src/http/body';
import { mapSliced, rank } from '../../src/http/ranking';
import { Slicer } from '../../src/http/slices';
import { AppError } from '../../src/errors';

/** Deterministic scores with many ties (the tie order is by index). */
function scores(n: number, seed: number): Float64Array {
  let x = seed;
  return Float64Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return (x % 997) / 997;
  });
}

function plainRank(s: Float64Array, topN?: number, minScore?: number): Array<{ index: number; score: number }> {
  let items = Array.from(s, (score, index) => ({ index, score }));
  if (minScore !== undefined) items = items.filter((it) => it.score >= minScore);
  items.sort((a, b) => b.score - a.score || a.index - b.index);
  return topN !== undefined ? items.slice(0, topN) : items;
}

test('rank in slices orders exactly as a plain sort, with top_n and min_score', async () => {
  for (const n of [0, 1, 7, 2048, 2049, 5000, 20_001]) {
    const s = scores(n, n + 1);
    assert.deepEqual(await rank(s, undefined, undefined, new Slicer()), plainRank(s), `n=${n}`);
    assert.deepEqual(await rank(s, 10, 0.5, new Slicer()), plainRank(s, 10, 0.5), `n=${n} top 10 >= 0.5`);
  }
});

test('rank of 60,000 scores yields to the event loop', async () => {
  let turns = 0;
  const timer = setInterval(() => turns++, 0);
  const s = scores(60_000, 3);
  const t0 = performance.now();
  const out = await rank(s, undefined, undefined, new Slicer());
  clearInterval(timer);
  assert.equal(out.length, 60_000);
  // Only meaningful when the sort took longer than a slice (it does on any machine this runs on).
  if (performance.now() - t0 > 30) assert.ok(turns > 0, 'timers ran while ranking');
});

test('encodeJsonSliced is exactly JSON.stringify', async () => {
  const big = Array.from({ length: 3000 }, (_, i) => ({ index: i, score: i / 7, text: `t"${i}\u2028`, skip: undefined, nested: [i, null, undefined] }));
  const values: unknown[] = [
    big,
    { id: 'x', results: big, meta: { a: 1, f: () => 1, u: undefined }, when: new Date(0) },
    { results: Array.from({ length: 100 }, (_, q) => ({ query_index: q, results: big.slice(0, 70) })) },
    { results: Array.from({ length: 8 }, (_, q) => ({ query_index: q, results: big })) },
    [[big, [undefined, () => 1, new Date(5)]], { a: [1, [2, [3]]] }],
    Array.from({ length: 70 }, () => big.slice(0, 80)),
    [1, 'a', null, undefined, NaN, Infinity],
    Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? undefined : i % 3 === 1 ? () => i : Symbol('s'))),
    'plain',
    42,
    null,
  ];
  for (const v of values) assert.equal(await encodeJsonSliced(v, 1 << 30, new Slicer()), JSON.stringify(v));
});

test('encodeJsonSliced stops at the answer budget with a 422', async () => {
  const big = Array.from({ length: 10_000 }, (_, i) => ({ index: i, text: 'x'.repeat(100) }));
  await assert.rejects(encodeJsonSliced(big, 100_000, new Slicer()), (e: unknown) => e instanceof AppError && e.status === 422 && /MAX_RESPONSE_MB/.test(e.message));
});

test('parseJsonSliced: same values and depth verdicts as parseJson, across slice edges', async () => {
  const texts = [JSON.stringify({ q: 'a\\"[[[', texts: Array.from({ length: 50_000 }, (_, i) => `d${i} "quoted" \\ [{`) }), '['.repeat(40) + ']'.repeat(40), '['.repeat(70) + ']'.repeat(70)];
  for (const t of texts) {
    if (jsonTooDeep(t)) await assert.rejects(parseJsonSliced(t, new Slicer()), /nested deeper/);
    else assert.deepEqual(await parseJsonSliced(t, new Slicer()), JSON.parse(t));
  }
  // An escape right at a slice edge (256 Ki chars) must not end the string early.
  const edge = `{"a":"${'x'.repeat(256 * 1024 - 7)}\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}`;
  assert.equal(jsonTooDeep(edge), false);
  assert.deepEqual(await parseJsonSliced(edge, new Slicer()), JSON.parse(edge));
});

test('mapSliced maps in order', async () => {
  const xs = Array.from({ length: 5000 }, (_, i) => i);
  assert.deepEqual(await mapSliced(xs, (x) => x * 2, new Slicer()), xs.map((x) => x * 2));
});

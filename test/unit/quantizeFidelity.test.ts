/** The fidelity report's statistics: Spearman with ties, top-k agreement, differences. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fidelity, ranks, spearman } from '../../src/quantize/fidelity';

test('ranks share ties; spearman is 1 for any monotone map and -1 reversed', () => {
  assert.deepEqual(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
  const a = [0.1, 0.5, -2, 3, 0.2];
  assert.equal(spearman(a, a.map((x) => Math.exp(x))), 1);
  assert.equal(spearman(a, a.map((x) => -x)), -1);
  // One swap of neighbours among 5: rho = 1 - 6*2/(5*24) = 0.9
  assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [1, 2, 3, 5, 4]) - 0.9) < 1e-12);
});

test('fidelity: max/mean |diff|, top-1 and top-3 agreement per query', () => {
  const r = fidelity([
    { query: 'same order', reference: [3, 2, 1, 0], candidate: [3.1, 2, 1, 0] },
    { query: 'top-1 swapped', reference: [3, 2.9, 1, 0], candidate: [2.9, 3, 1, 0] },
    { query: 'third and fourth swapped', reference: [3, 2, 1, 0.9], candidate: [3, 2, 0.8, 0.9] },
  ]);
  assert.equal(r.queries, 3);
  assert.equal(r.pairs, 12);
  assert.ok(Math.abs(r.maxAbsDiff - 0.2) < 1e-12);
  assert.ok(Math.abs(r.meanAbsDiff - (0.1 + 0.1 + 0.1 + 0.2) / 12) < 1e-12);
  assert.equal(r.top1Agreement, 2 / 3);
  assert.equal(r.top3Agreement, 2 / 3);
  assert.equal(r.spearmanMin, 0.8);
  assert.throws(() => fidelity([{ query: 'q', reference: [1], candidate: [] }]), /1 reference scores but 0/);
});

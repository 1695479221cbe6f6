import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickBatch, type Candidate } from '../../src/batching/pickBatch';

const limits = { maxBatchTokens: 1000, maxBatchRequests: 64 };
const c = (length: number, seq: number, requestId = 1): Candidate => ({ length, seq, requestId });

function cost(items: Candidate[], idx: number[]): number {
  return Math.max(...idx.map((i) => items[i]!.length)) * idx.length;
}

test('empty queue gives an empty batch', () => {
  assert.deepEqual(pickBatch([], limits), []);
});

test('everything that fits the budget goes in one batch', () => {
  const items = [c(10, 1), c(20, 2), c(30, 3)];
  assert.deepEqual(pickBatch(items, limits).sort(), [0, 1, 2]);
});

test('the padded cost (longest x count) never exceeds the token budget', () => {
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 200; round++) {
    const n = 1 + Math.floor(rand() * 80);
    const items = Array.from({ length: n }, (_, i) => c(5 + Math.floor(rand() * 300), Math.floor(rand() * 1000) + i * 1000, Math.floor(rand() * 5)));
    const budget = 300 + Math.floor(rand() * 3000);
    const picked = pickBatch(items, { maxBatchTokens: budget, maxBatchRequests: 64 });
    assert.ok(picked.length >= 1);
    assert.equal(new Set(picked).size, picked.length, 'no duplicates');
    if (picked.length > 1) assert.ok(cost(items, picked) <= budget, `cost ${cost(items, picked)} > ${budget}`);
  }
});

test('the oldest pair is always in the batch (no starvation)', () => {
  const items = [c(50, 9), c(400, 1), c(48, 5), c(52, 6), c(49, 7)];
  const picked = pickBatch(items, { maxBatchTokens: 800, maxBatchRequests: 64 });
  assert.ok(picked.includes(1), 'the long but oldest pair is picked');
});

test('pairs of similar length are grouped: a batch anchored on a short pair leaves the long ones', () => {
  const items = [c(20, 1), c(21, 2), c(300, 3), c(22, 4), c(310, 5), c(19, 6)];
  const picked = pickBatch(items, { maxBatchTokens: 100, maxBatchRequests: 64 });
  assert.deepEqual(picked.map((i) => items[i]!.length).sort((a, b) => a - b), [19, 20, 21, 22]);
});

test('a single pair longer than the budget still forms a batch of one', () => {
  const items = [c(5000, 1), c(10, 2)];
  assert.deepEqual(pickBatch(items, { maxBatchTokens: 1000, maxBatchRequests: 64 }), [0]);
});

test('the cap on distinct requests per batch holds', () => {
  const items = Array.from({ length: 20 }, (_, i) => c(10, i, i));
  const picked = pickBatch(items, { maxBatchTokens: 10_000, maxBatchRequests: 3 });
  assert.equal(new Set(picked.map((i) => items[i]!.requestId)).size, 3);
});

test('length-aware grouping pads less than first-in-first-out batches of the same budget', () => {
  let seed = 11;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const lengths = Array.from({ length: 400 }, () => 40 + Math.floor(rand() * 260));
  const budget = 4096;
  const padded = (batches: number[][]): number => batches.reduce((n, b) => n + Math.max(...b) * b.length, 0);

  let queue = lengths.map((length, i) => c(length, i));
  const aware: number[][] = [];
  while (queue.length) {
    const picked = pickBatch(queue, { maxBatchTokens: budget, maxBatchRequests: 64 });
    aware.push(picked.map((i) => queue[i]!.length));
    const set = new Set(picked);
    queue = queue.filter((_, i) => !set.has(i));
  }
  const fifo: number[][] = [];
  let cur: number[] = [];
  for (const l of lengths) {
    if (cur.length && Math.max(...cur, l) * (cur.length + 1) > budget) {
      fifo.push(cur);
      cur = [];
    }
    cur.push(l);
  }
  if (cur.length) fifo.push(cur);
  const real = lengths.reduce((a, b) => a + b, 0);
  assert.ok(padded(aware) < padded(fifo), `aware ${padded(aware)} vs fifo ${padded(fifo)}`);
  assert.ok(padded(aware) / real < 1.25, `padding overhead ${(padded(aware) / real).toFixed(2)}`);
});

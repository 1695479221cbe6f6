/**
 * Properties of the batching code over many seeded random queues (pickBatch.test.ts and
 * scheduler.test.ts cover the hand-made cases): every pick respects the limits, a queue drains with
 * each pair run exactly once, and the scheduler's failure paths and statistics hold up.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchValue, pickBatch, type Candidate } from '../../src/batching/pickBatch';
import { Scheduler, unionMs, type BatchRunner } from '../../src/batching/scheduler';
import type { BatchTensors } from '../../src/engine/protocol';
import { mulberry32 } from '../../scripts/onnx/prng';

function randomQueue(rand: () => number, n: number, requests: number): Candidate[] {
  return Array.from({ length: n }, (_, i) => ({
    length: 3 + Math.floor(rand() * rand() * 509),
    requestId: 1 + Math.floor(rand() * requests),
    seq: i + 1,
  }));
}

test('every pick: non-empty, distinct, holds the oldest, sorted by length, within both limits', () => {
  const rand = mulberry32(2024);
  for (let trial = 0; trial < 300; trial++) {
    const q = randomQueue(rand, 1 + Math.floor(rand() * 200), 1 + Math.floor(rand() * 20));
    // Shuffle so the oldest pair is anywhere in the array.
    for (let i = q.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [q[i], q[j]] = [q[j]!, q[i]!];
    }
    const limits = { maxBatchTokens: 64 + Math.floor(rand() * 8192), maxBatchRequests: 1 + Math.floor(rand() * 8) };
    const picked = pickBatch(q, limits);
    assert.ok(picked.length > 0);
    assert.equal(new Set(picked).size, picked.length, 'no index twice');
    const oldest = q.reduce((a, b) => (b.seq < a.seq ? b : a));
    assert.ok(picked.some((i) => q[i] === oldest), 'the oldest pair is in the batch');
    const lens = picked.map((i) => q[i]!.length);
    assert.deepEqual(lens, [...lens].sort((a, b) => a - b), 'ascending length');
    if (picked.length > 1) assert.ok(Math.max(...lens) * picked.length <= limits.maxBatchTokens, 'padded cost within budget');
    assert.ok(new Set(picked.map((i) => q[i]!.requestId)).size <= limits.maxBatchRequests, 'request cap');
  }
});

test('a batch takes the pairs nearest the anchor in length: none left out lies strictly inside its range', () => {
  const rand = mulberry32(77);
  for (let trial = 0; trial < 200; trial++) {
    const q = randomQueue(rand, 2 + Math.floor(rand() * 100), 1);
    const picked = new Set(pickBatch(q, { maxBatchTokens: 2048, maxBatchRequests: 64 }));
    const lens = [...picked].map((i) => q[i]!.length);
    const lo = Math.min(...lens);
    const hi = Math.max(...lens);
    q.forEach((c, i) => {
      if (!picked.has(i)) assert.ok(c.length <= lo || c.length >= hi, `length ${c.length} left out of a batch spanning ${lo}..${hi}`);
    });
  }
});

test('picking until the queue is empty runs every pair exactly once, in at most one batch per pair', () => {
  const rand = mulberry32(9);
  for (let trial = 0; trial < 50; trial++) {
    let q = randomQueue(rand, 1 + Math.floor(rand() * 300), 10);
    const seen = new Set<number>();
    let picks = 0;
    const total = q.length;
    while (q.length > 0) {
      const chosen = new Set(pickBatch(q, { maxBatchTokens: 1024, maxBatchRequests: 4 }));
      for (const i of chosen) {
        assert.ok(!seen.has(q[i]!.seq), 'picked twice');
        seen.add(q[i]!.seq);
      }
      q = q.filter((_, i) => !chosen.has(i));
      picks++;
    }
    assert.equal(seen.size, total);
    assert.ok(picks <= total);
  }
});

/** Runs batches at once; fails the batches that `fail` says should fail. */
class ScriptedRunner implements BatchRunner {
  readonly batches: BatchTensors[] = [];
  constructor(private readonly fail: (n: number) => boolean = () => false) {}
  get minOutstanding(): number {
    return 0;
  }
  run(t: BatchTensors): Promise<{ logits: Float32Array; numLabels: number; runMs: number }> {
    const n = this.batches.push(t);
    if (this.fail(n)) return Promise.reject(new Error(`batch ${n} failed`));
    const logits = Float32Array.from({ length: t.batch }, (_, r) => t.ids[r * t.seqLen]!);
    return Promise.resolve({ logits, numLabels: 1, runMs: 2 });
  }
}

const opts = { maxBatchTokens: 1 << 20, maxBatchRequests: 64, padTokenId: 0, paddingSide: 'right' as const, numLabels: 1 };
const pair = (index: number, first: number, len = 3) => {
  const ids = new Int32Array(len).fill(1);
  ids[0] = first;
  return { index, ids, typeIds: new Uint8Array(len) };
};

test('a failed batch fails exactly the requests in it; the scheduler keeps serving', async () => {
  const runner = new ScriptedRunner((n) => n === 1);
  const s = new Scheduler(runner, { ...opts, depth: 1 });
  const a = s.open(2);
  const b = s.open(1);
  a.done.catch(() => undefined);
  s.add(a.id, [pair(0, 5), pair(1, 6)]);
  s.add(b.id, [pair(0, 7)]);
  await assert.rejects(a.done, /batch 1 failed/);
  const later = s.open(1);
  s.add(later.id, [pair(0, 8)]);
  assert.deepEqual(Array.from((await later.done).logits), [8]);
  // b was queued behind the failed batch, so it ran in the next one and succeeded.
  assert.deepEqual(Array.from((await b.done).logits), [7]);
});

test('pairs added after a cancel are ignored; an empty request resolves at once', async () => {
  const runner = new ScriptedRunner();
  const s = new Scheduler(runner, opts);
  const a = s.open(2);
  a.done.catch(() => undefined);
  s.cancel(a.id, new Error('gone'));
  s.add(a.id, [pair(0, 1), pair(1, 2)]);
  assert.equal(s.queuedPairs, 0);
  assert.equal(runner.batches.length, 0, 'nothing of a cancelled request reaches the engine');
  const empty = await s.open(0).done;
  assert.equal(empty.logits.length, 0);
});

/** Holds every batch until release(): lets a test decide what is queued when the next batch is picked. */
class HeldRunner implements BatchRunner {
  readonly batches: BatchTensors[] = [];
  private held: Array<() => void> = [];
  get minOutstanding(): number {
    return this.held.length;
  }
  run(t: BatchTensors): Promise<{ logits: Float32Array; numLabels: number; runMs: number }> {
    this.batches.push(t);
    return new Promise((resolve) => this.held.push(() => resolve({ logits: new Float32Array(t.batch), numLabels: 1, runMs: 5 })));
  }
  async release(): Promise<void> {
    const h = this.held;
    this.held = [];
    h.forEach((f) => f());
    await new Promise((r) => setImmediate(r));
  }
}

test('onBatch reports pairs, requests, real and padded tokens; inference time counts each batch a request is in', async () => {
  const stats: Array<{ pairs: number; requests: number; paddedTokens: number; realTokens: number }> = [];
  const runner = new HeldRunner();
  const s = new Scheduler(runner, { ...opts, depth: 1, onBatch: (x) => stats.push(x) });
  const a = s.open(3);
  const b = s.open(1);
  s.add(a.id, [pair(0, 1, 4)]); // batch 1: a alone, dispatched at once
  s.add(a.id, [pair(1, 2, 2), pair(2, 3, 6)]);
  s.add(b.id, [pair(0, 4, 3)]); // queued behind batch 1: they travel together in batch 2
  await runner.release();
  await runner.release();
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.equal(runner.batches.length, 2);
  assert.deepEqual(
    stats.map((x) => [x.pairs, x.requests, x.realTokens, x.paddedTokens]),
    [
      [1, 1, 4, 4],
      [3, 2, 11, 18],
    ],
  );
  // Inference time is the union of the request's batch runs (each reported as 5 ms here, ending when
  // released): b was in one batch; a in two that the held runner let overlap, so 5..10 ms.
  assert.ok(Math.abs(rb.inferenceMs - 5) < 1e-6, `b: ${rb.inferenceMs}`);
  assert.ok(ra.inferenceMs >= 5 && ra.inferenceMs <= 10, `a: ${ra.inferenceMs}`);
});

test('unionMs: overlapping runs (several workers) count once, disjoint ones add up', () => {
  assert.equal(unionMs([]), 0);
  assert.equal(unionMs([[0, 10]]), 10);
  assert.equal(unionMs([[0, 10], [20, 25]]), 15);
  assert.equal(unionMs([[5, 15], [0, 10]]), 15, 'overlap, any order');
  assert.equal(unionMs([[0, 30], [5, 10], [12, 20]]), 30, 'nested');
  assert.equal(unionMs([[0, 1], [5, 6], [0.5, 7]]), 7, 'a late long run covering gaps');
});

/** Two workers, each taking the batch when it has the fewest outstanding; held until release(). */
class TwoWorkers implements BatchRunner {
  readonly slots = [0, 0];
  readonly sizes: number[][] = [[], []];
  private held: Array<() => void> = [];
  get minOutstanding(): number {
    return Math.min(...this.slots);
  }
  get idleWorkers(): number {
    return this.slots.filter((n) => n === 0).length;
  }
  run(t: BatchTensors): Promise<{ logits: Float32Array; numLabels: number; runMs: number }> {
    const w = this.slots[0]! <= this.slots[1]! ? 0 : 1;
    this.slots[w]!++;
    this.sizes[w]!.push(t.batch);
    return new Promise((resolve) =>
      this.held.push(() => {
        this.slots[w]!--;
        resolve({ logits: new Float32Array(t.batch), numLabels: 1, runMs: 1 });
      }),
    );
  }
  async release(): Promise<void> {
    const h = this.held;
    this.held = [];
    h.forEach((f) => f());
    await new Promise((r) => setImmediate(r));
  }
}

test('idle workers share a small queue: 10 pairs become two batches of 5, one per worker', async () => {
  const runner = new TwoWorkers();
  const s = new Scheduler(runner, opts);
  const r = s.open(10);
  s.add(r.id, Array.from({ length: 10 }, (_, i) => pair(i, i + 1)));
  assert.deepEqual(runner.sizes, [[5], [5]]);
  await runner.release();
  await r.done;
});

test('busy workers get whole batches: the split only happens while more than one worker is idle', async () => {
  const runner = new TwoWorkers();
  const s = new Scheduler(runner, { ...opts, maxBatchTokens: 12 }); // 4 pairs of 3 tokens per batch
  const r = s.open(24);
  s.add(r.id, Array.from({ length: 24 }, (_, i) => pair(i, i + 1)));
  // First two picks split between the idle workers; then each worker holds 2 (depth) full batches.
  assert.deepEqual(runner.sizes, [[4, 4], [4, 4]]);
  assert.equal(s.queuedPairs, 8);
  while (s.queuedPairs > 0 || runner.slots.some((n) => n > 0)) await runner.release();
  assert.equal((await r.done).logits.length, 24);
  assert.ok(runner.sizes.flat().every((n) => n === 4));
});

/** The best value over every batch the rule may form: contiguous in length order, holds the anchor, fits the limits. */
function bruteBest(q: Candidate[], limits: { maxBatchTokens: number; maxBatchRequests: number }, overhead: number): number {
  const order = q.map((_, i) => i).sort((a, b) => q[a]!.length - q[b]!.length || q[a]!.seq - q[b]!.seq);
  const at = order.indexOf(q.indexOf(q.reduce((a, b) => (b.seq < a.seq ? b : a))));
  let best = 0;
  for (let lo = 0; lo <= at; lo++) {
    for (let hi = at; hi < order.length; hi++) {
      const rows = order.slice(lo, hi + 1).map((i) => q[i]!);
      const fits = rows.length === 1 || (Math.max(...rows.map((r) => r.length)) * rows.length <= limits.maxBatchTokens && new Set(rows.map((r) => r.requestId)).size <= limits.maxBatchRequests);
      if (fits) best = Math.max(best, batchValue(rows.map((r) => r.length), overhead));
    }
  }
  return best;
}

test('each pick is the best batch by the cost model among those that hold the oldest pair (brute force on small queues)', () => {
  const rand = mulberry32(4242);
  for (let trial = 0; trial < 400; trial++) {
    const q = randomQueue(rand, 1 + Math.floor(rand() * 14), 1 + Math.floor(rand() * 5));
    const limits = { maxBatchTokens: 64 + Math.floor(rand() * 2048), maxBatchRequests: 1 + Math.floor(rand() * 4) };
    const overhead = limits.maxBatchTokens / 8;
    const picked = pickBatch(q, limits);
    const got = batchValue(picked.map((i) => q[i]!.length), overhead);
    const best = bruteBest(q, limits, overhead);
    assert.ok(got >= best - 1e-12, `trial ${trial}: picked value ${got} < best ${best}`);
  }
});

test('bounded wait: with new pairs arriving between picks, a pair is picked within (pairs older than it) + 1 picks', () => {
  const rand = mulberry32(31337);
  for (let trial = 0; trial < 40; trial++) {
    let queue: Candidate[] = [];
    let seq = 0;
    const budget = { seq: new Map<number, number>() }; // seq -> picks it may still wait
    let picks = 0;
    const limits = { maxBatchTokens: 256 + Math.floor(rand() * 2048), maxBatchRequests: 8 };
    for (let step = 0; step < 300 || queue.length > 0; step++) {
      // Arrivals: bursts of mostly short pairs, with long outliers that a padding-greedy rule would skip.
      if (step < 300) {
        for (let k = Math.floor(rand() * 4); k > 0; k--) {
          const c = { length: rand() < 0.1 ? 400 + Math.floor(rand() * 100) : 10 + Math.floor(rand() * 40), requestId: Math.floor(rand() * 20), seq: ++seq };
          budget.seq.set(c.seq, queue.length + 1);
          queue.push(c);
        }
      }
      if (queue.length === 0) continue;
      const chosen = new Set(pickBatch(queue, limits));
      picks++;
      for (const i of chosen) budget.seq.delete(queue[i]!.seq);
      queue = queue.filter((_, i) => !chosen.has(i));
      for (const [s, left] of budget.seq) {
        assert.ok(left - 1 > 0, `pair ${s} waited more picks than there were pairs older than it`);
        budget.seq.set(s, left - 1);
      }
    }
    assert.ok(picks > 0);
  }
});

/** Runs each batch after a random delay on one of 3 "workers"; logits = the row's first id * 10 + label. */
class RandomRunner implements BatchRunner {
  outstanding = 0;
  constructor(private readonly rand: () => number) {}
  get minOutstanding(): number {
    return Math.floor(this.outstanding / 3);
  }
  get idleWorkers(): number {
    return Math.max(0, 3 - this.outstanding);
  }
  run(t: BatchTensors): Promise<{ logits: Float32Array; numLabels: number; runMs: number }> {
    this.outstanding++;
    const logits = new Float32Array(t.batch * 2);
    for (let r = 0; r < t.batch; r++) {
      logits[r * 2] = t.ids[r * t.seqLen]! * 10;
      logits[r * 2 + 1] = t.ids[r * t.seqLen]! * 10 + 1;
    }
    return new Promise((resolve) =>
      setTimeout(() => {
        this.outstanding--;
        resolve({ logits, numLabels: 2, runMs: 1 });
      }, Math.floor(this.rand() * 3)),
    );
  }
}

test('many requests, pairs added in chunks, batches finishing in random order: each pair scored once, its logits at its own index of its own request', async () => {
  const rand = mulberry32(555);
  for (let trial = 0; trial < 5; trial++) {
    const runner = new RandomRunner(rand);
    let rows = 0;
    const s = new Scheduler(runner, { maxBatchTokens: 40 + Math.floor(rand() * 400), maxBatchRequests: 1 + Math.floor(rand() * 6), padTokenId: 0, paddingSide: 'right', numLabels: 2, onBatch: (b) => void (rows += b.pairs) });
    const requests = Array.from({ length: 12 }, (_, r) => {
      const n = Math.floor(rand() * 20);
      // A unique first id per pair tells where its logits belong: request r, pair i -> 1000 r + i + 1.
      const pairs = Array.from({ length: n }, (_, i) => {
        const ids = new Int32Array(2 + Math.floor(rand() * 30)).fill(7);
        ids[0] = 1000 * r + i + 1;
        return { index: i, ids, typeIds: new Uint8Array(ids.length) };
      });
      return { r, pairs, handle: s.open(n) };
    });
    // Feed the pairs in random chunks, interleaved across requests and out of index order.
    const feed = requests.flatMap(({ handle, pairs }) => pairs.map((p) => ({ id: handle.id, p })));
    for (let i = feed.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [feed[i], feed[j]] = [feed[j]!, feed[i]!];
    }
    while (feed.length > 0) {
      const chunk = feed.splice(0, 1 + Math.floor(rand() * 5));
      for (const { id, p } of chunk) s.add(id, [p]);
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 2)));
    }
    for (const { r, pairs, handle } of requests) {
      const { logits } = await handle.done;
      assert.equal(logits.length, pairs.length * 2);
      pairs.forEach((_, i) => {
        assert.equal(logits[i * 2], (1000 * r + i + 1) * 10, `request ${r} pair ${i}`);
        assert.equal(logits[i * 2 + 1], (1000 * r + i + 1) * 10 + 1);
      });
    }
    assert.equal(rows, requests.reduce((n, x) => n + x.pairs.length, 0), 'every pair ran in exactly one batch');
  }
});

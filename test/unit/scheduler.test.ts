/**
 * The scheduler's routing and cancellation, with a runner that computes a logit from the ids it
 * receives (so a wrong routing shows up as a wrong value). The real engine is covered by the
 * model and integration suites.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BatchTensors } from '../../src/engine/protocol';
import { Scheduler, pack, type BatchRunner } from '../../src/batching/scheduler';
import { AppError } from '../../src/errors';

class SumRunner implements BatchRunner {
  outstandingNow = 0;
  batches: BatchTensors[] = [];
  private waiting: Array<() => void> = [];
  constructor(private readonly manual = false) {}
  get minOutstanding(): number {
    return this.outstandingNow;
  }
  run(t: BatchTensors): Promise<{ logits: Float32Array; numLabels: number; runMs: number }> {
    this.outstandingNow++;
    this.batches.push(t);
    const logits = new Float32Array(t.batch);
    for (let r = 0; r < t.batch; r++) {
      let s = 0;
      for (let j = 0; j < t.seqLen; j++) s += t.mask[r * t.seqLen + j]! ? t.ids[r * t.seqLen + j]! : 0;
      logits[r] = s;
    }
    return new Promise((resolve) => {
      const finish = (): void => {
        this.outstandingNow--;
        resolve({ logits, numLabels: 1, runMs: 1 });
      };
      if (this.manual) this.waiting.push(finish);
      else setImmediate(finish);
    });
  }
  releaseAll(): void {
    const w = this.waiting;
    this.waiting = [];
    w.forEach((f) => f());
  }
}

const opts = { maxBatchTokens: 64, maxBatchRequests: 8, padTokenId: 0, paddingSide: 'right' as const, numLabels: 1 };
const pair = (index: number, ids: number[]) => ({ index, ids: Int32Array.from(ids), typeIds: new Uint8Array(ids.length) });

test('results are routed back to the right request and position', async () => {
  const runner = new SumRunner();
  const s = new Scheduler(runner, opts);
  const a = s.open(3);
  const b = s.open(2);
  s.add(a.id, [pair(2, [5, 5]), pair(0, [1])]);
  s.add(b.id, [pair(1, [7, 7, 7, 7]), pair(0, [2, 2, 2])]);
  s.add(a.id, [pair(1, [3, 3, 3, 3, 3, 3])]);
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.deepEqual(Array.from(ra.logits), [1, 18, 10]);
  assert.deepEqual(Array.from(rb.logits), [6, 28]);
  assert.ok(runner.batches.length >= 2);
});

test('no more than depth batches are outstanding at once', async () => {
  const runner = new SumRunner(true);
  const s = new Scheduler(runner, { ...opts, maxBatchTokens: 4, depth: 2 });
  const r = s.open(6);
  s.add(r.id, [0, 1, 2, 3, 4, 5].map((i) => pair(i, [1, 1, 1, 1])));
  assert.equal(runner.batches.length, 2);
  assert.equal(s.queuedPairs, 4);
  while (runner.batches.length < 6) {
    runner.releaseAll();
    await new Promise((x) => setImmediate(x));
  }
  runner.releaseAll();
  const out = await r.done;
  assert.deepEqual(Array.from(out.logits), [4, 4, 4, 4, 4, 4]);
});

test('a cancelled request leaves the queue and its promise rejects; others still finish', async () => {
  const runner = new SumRunner(true);
  const s = new Scheduler(runner, { ...opts, maxBatchTokens: 2, depth: 1 });
  const a = s.open(3);
  const b = s.open(1);
  s.add(a.id, [pair(0, [1, 1]), pair(1, [1, 1]), pair(2, [1, 1])]);
  s.add(b.id, [pair(0, [9, 9])]);
  assert.equal(s.queuedPairs, 3);
  s.cancel(a.id, new Error('client gone'));
  assert.equal(s.queuedPairs, 1, 'only the other request remains queued');
  await assert.rejects(a.done, /client gone/);
  for (let i = 0; i < 4; i++) {
    runner.releaseAll();
    await new Promise((x) => setImmediate(x));
  }
  assert.deepEqual(Array.from((await b.done).logits), [18]);
});

async function releaseUntilSettled(runner: SumRunner, all: Array<Promise<unknown>>): Promise<void> {
  let settled = false;
  void Promise.allSettled(all).then(() => (settled = true));
  for (let i = 0; i < 100 && !settled; i++) {
    runner.releaseAll();
    await new Promise((x) => setImmediate(x));
  }
  assert.ok(settled, 'every request settles');
}

/** Rejects any batch that holds token 666, like a session whose Gather gets an index out of range. */
class PoisonRunner extends SumRunner {
  constructor(private readonly inputDependent: boolean) {
    super(true);
  }
  override run(t: BatchTensors): ReturnType<SumRunner['run']> {
    if (t.ids.includes(666)) {
      this.batches.push(t);
      return Promise.reject(new AppError('Backend', 'the model failed on this batch: index out of range', { inputDependent: this.inputDependent }));
    }
    return super.run(t);
  }
}

test('a batch the session rejects is retried request by request: only the culprit fails', async () => {
  const runner = new PoisonRunner(true);
  const s = new Scheduler(runner, { ...opts, depth: 1 });
  const blocker = s.open(1);
  s.add(blocker.id, [pair(0, [1])]); // runs (held) while the others queue up into one batch
  const bad = s.open(2);
  const good = s.open(2);
  const other = s.open(1);
  s.add(bad.id, [pair(0, [1, 666]), pair(1, [2])]);
  s.add(good.id, [pair(0, [3, 3]), pair(1, [4])]);
  s.add(other.id, [pair(0, [5])]);
  await releaseUntilSettled(runner, [blocker.done, bad.done, good.done, other.done]);
  await assert.rejects(bad.done, /index out of range/);
  assert.deepEqual(Array.from((await good.done).logits), [6, 4]);
  assert.deepEqual(Array.from((await other.done).logits), [5]);
  const withPoison = runner.batches.filter((b) => b.ids.includes(666));
  assert.equal(withPoison.length, 2, 'the mixed batch, then the culprit alone: no retry loop');
  assert.equal(withPoison[1]!.batch, 2, 'the retry holds only the culprit request');
});

test('an engine failure (worker gone) is not retried: every request in the batch fails', async () => {
  const runner = new PoisonRunner(false);
  const s = new Scheduler(runner, { ...opts, depth: 1 });
  const blocker = s.open(1);
  s.add(blocker.id, [pair(0, [1])]);
  const bad = s.open(1);
  const good = s.open(1);
  s.add(bad.id, [pair(0, [666])]);
  s.add(good.id, [pair(0, [3])]);
  await releaseUntilSettled(runner, [blocker.done, bad.done, good.done]);
  await assert.rejects(bad.done, /failed on this batch/);
  await assert.rejects(good.done, /failed on this batch/);
  assert.equal(runner.batches.filter((b) => b.ids.includes(666)).length, 1);
});

test('pack pads on the tokenizer side and marks real tokens in the mask', () => {
  const items = [
    { requestId: 1, seq: 1, length: 2, index: 0, ids: Int32Array.from([4, 5]), typeIds: Uint8Array.from([0, 1]) },
    { requestId: 1, seq: 2, length: 3, index: 1, ids: Int32Array.from([6, 7, 8]), typeIds: Uint8Array.from([0, 1, 1]) },
  ];
  const right = pack(items, 9, 'right');
  assert.deepEqual(Array.from(right.ids), [4, 5, 9, 6, 7, 8]);
  assert.deepEqual(Array.from(right.mask), [1, 1, 0, 1, 1, 1]);
  assert.deepEqual(Array.from(right.typeIds), [0, 1, 0, 0, 1, 1]);
  const left = pack(items, 9, 'left');
  assert.deepEqual(Array.from(left.ids), [9, 4, 5, 6, 7, 8]);
  assert.deepEqual(Array.from(left.mask), [0, 1, 1, 1, 1, 1]);
});

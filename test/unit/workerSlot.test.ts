/**
 * The crash-and-restart primitive (src/workerSlot.ts) with a real worker thread
 * (test/helpers/slotWorker.ts) that is told to crash: in-flight tasks fail with a 424 that says what
 * happened, the slot restarts as its policy says, gives up at maxCrashes in a row, and nothing
 * restarts after close(). Order of events only, no timing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../src/errors';
import { INFERENCE_RESTARTS } from '../../src/engine/inferencePool';
import { TOKENIZER_RESTARTS } from '../../src/tokenize/tokenizerPool';
import { doublingBackoff, restartDecision, WorkerSlot, type RestartPolicy, type SlotEvent } from '../../src/workerSlot';
import { startWorker } from '../../src/workerThread';
import type { FromSlotWorker, SlotWorkerStart, ToSlotWorker } from '../helpers/slotWorker';

type Event = SlotEvent<FromSlotWorker>;

/** A slot over slotWorker; starts[i] is how the i-th worker it starts behaves ('ok' after the list). */
function harness(policy: RestartPolicy, starts: readonly SlotWorkerStart[] = []) {
  const events: Event[] = [];
  const waiting: Array<{ done: () => boolean; resolve: () => void }> = [];
  let started = 0;
  const exitCodes: number[] = [];
  const slot = new WorkerSlot<ToSlotWorker, FromSlotWorker>({
    name: 'test worker',
    taskNoun: 'task',
    start: () => {
      const w = startWorker<ToSlotWorker>(__filename, '../helpers/slotWorker', { start: starts[started++] ?? 'ok' });
      w.once('exit', (code) => exitCodes.push(code));
      return w;
    },
    handshake: (m) => (m.type === 'ready' ? undefined : new AppError('Model', m.type === 'init-error' ? m.message : `unexpected ${m.type}`)),
    reply: (m) => (m.type === 'echo' ? { id: m.id, value: m.value } : undefined),
    policy,
    stop: { message: { type: 'bye' }, graceMs: 60_000 },
    closedError: () => new AppError('Unhealthy', 'test slot closed'),
    onEvent: (e) => {
      events.push(e);
      for (const w of waiting.splice(0)) if (w.done()) w.resolve();
      else waiting.push(w);
    },
  });
  const count = (type: Event['type']): number => events.filter((e) => e.type === type).length;
  /** Resolves once `n` events of this type happened. */
  const until = (type: Event['type'], n = 1): Promise<void> =>
    new Promise((resolve) => {
      const done = (): boolean => count(type) >= n;
      if (done()) resolve();
      else waiting.push({ done, resolve });
    });
  const echo = (value: string): Promise<unknown> => slot.request((id) => ({ type: 'echo', id, value }));
  const hold = (): Promise<unknown> => slot.request((id) => ({ type: 'hold', id }));
  const exit = (code: number): Promise<unknown> => slot.request((id) => ({ type: 'exit', id, code }));
  return { slot, events, until, echo, hold, exit, types: () => events.map((e) => e.type), starts: () => started, exitCodes };
}

const is = (status: number, re: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof AppError, String(e));
  assert.equal(e.status, status);
  assert.match(e.message, re);
  return true;
};

const IMMEDIATE: RestartPolicy = { maxCrashes: Infinity, backoffMs: () => 0 };

test('the policy is read in one place: doubling delays after the first, give up at maxCrashes; each pool has its own', () => {
  const b = doublingBackoff(250, 8000);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map(b), [0, 250, 500, 1000, 2000, 4000, 8000, 8000]);
  const decide = (p: RestartPolicy, upTo: number) => Array.from({ length: upTo }, (_, i) => restartDecision(p, i + 1));
  // Inference: restart after crashes 1..5 (0, 250, 500, 1000, 2000 ms), not after the 6th in a row.
  assert.deepEqual(decide(INFERENCE_RESTARTS, 6), [
    { restart: true, delayMs: 0 },
    { restart: true, delayMs: 250 },
    { restart: true, delayMs: 500 },
    { restart: true, delayMs: 1000 },
    { restart: true, delayMs: 2000 },
    { restart: false },
  ]);
  // Tokenizer: the first restart at once, and never gives up.
  assert.deepEqual(restartDecision(TOKENIZER_RESTARTS, 1), { restart: true, delayMs: 0 });
  assert.deepEqual(restartDecision(TOKENIZER_RESTARTS, 1000), { restart: true, delayMs: 8000 });
});

test('a crash fails every in-flight task with a 424 that says so; the slot restarts per policy and serves again', async () => {
  const delays: number[] = [];
  const h = harness({ maxCrashes: 3, backoffMs: (n) => (delays.push(n), n - 1) });
  try {
    const first = await h.slot.start();
    assert.equal(first.type, 'ready');
    assert.equal(await h.echo('a'), 'a');
    const held = [h.hold(), h.hold(), h.exit(70)];
    assert.equal(h.slot.inFlight, 3);
    await Promise.all(held.map((p) => assert.rejects(p, is(424, /^the test worker running this task exited \(code 70\); it is being restarted and the request can be retried$/))));
    assert.equal(h.slot.inFlight, 0);
    await h.until('ready', 2);
    assert.deepEqual(h.types(), ['ready', 'crash', 'restarting', 'ready']);
    assert.deepEqual(h.events[1], { type: 'crash', reason: 'exited with code 70', crashesInARow: 1, delayMs: 0 });
    assert.deepEqual(h.events[2], { type: 'restarting', restarts: 1 });
    assert.equal(h.slot.live, true);
    assert.equal(h.slot.restarts, 1);
    assert.equal(await h.echo('b'), 'b');
    // The answered task ended the run of crashes: the next crash is the first in a row again.
    await assert.rejects(h.exit(71), is(424, /exited \(code 71\); it is being restarted/));
    await h.until('ready', 3);
    assert.deepEqual(h.events[4], { type: 'crash', reason: 'exited with code 71', crashesInARow: 1, delayMs: 0 });
    assert.deepEqual(delays, [1, 1]);
    assert.equal(await h.echo('c'), 'c');
  } finally {
    await h.slot.close();
  }
});

test('an uncaught exception in the worker: an error event, then the crash names it', async () => {
  const h = harness(IMMEDIATE);
  try {
    await h.slot.start();
    await assert.rejects(
      h.slot.request((id) => ({ type: 'throw', id, message: 'boom' })),
      is(424, /^the test worker running this task exited \(code 1: boom\); it is being restarted/),
    );
    await h.until('ready', 2);
    assert.deepEqual(h.types(), ['ready', 'error', 'crash', 'restarting', 'ready']);
    const error = h.events[1] as Extract<Event, { type: 'error' }>;
    assert.match(error.error.message, /boom/);
    assert.deepEqual(h.events[2], { type: 'crash', reason: 'exited with code 1 (boom)', crashesInARow: 1, delayMs: 0 });
  } finally {
    await h.slot.close();
  }
});

test('gives up at maxCrashes in a row: in-flight tasks are told it is not restarted, and it stays down', async () => {
  const h = harness({ maxCrashes: 2, backoffMs: () => 0 });
  try {
    await h.slot.start();
    await assert.rejects(h.exit(70), is(424, /it is being restarted/));
    await h.until('ready', 2);
    const held = assert.rejects(h.hold(), is(424, /not restarted again/));
    // No task succeeded since the restart: this is the 2nd crash in a row.
    await assert.rejects(h.exit(72), is(424, /^the test worker running this task exited \(code 72\); it crashed 2 times in a row and is not restarted again$/));
    await held;
    await h.until('gave-up');
    assert.deepEqual(h.types(), ['ready', 'crash', 'restarting', 'ready', 'gave-up']);
    assert.deepEqual(h.events[4], { type: 'gave-up', reason: 'exited with code 72', crashesInARow: 2 });
    assert.equal(h.slot.live, false);
    assert.equal(h.slot.failure, 'exited with code 72');
    assert.equal(h.starts(), 2, 'no third worker was started');
    await assert.rejects(h.echo('x'), is(503, /the test worker is not running/));
  } finally {
    await h.slot.close();
  }
});

test('replacements that fail to start count as crashes in a row, each delay from the policy, until it gives up', async () => {
  const h = harness({ maxCrashes: 3, backoffMs: (n) => n - 1 }, ['ok', 'exit', 'init-error']);
  try {
    await h.slot.start();
    await assert.rejects(h.exit(70), is(424, /it is being restarted/));
    await h.until('gave-up');
    assert.deepEqual(h.types(), ['ready', 'crash', 'restarting', 'crash', 'restarting', 'gave-up']);
    assert.deepEqual(h.events[1], { type: 'crash', reason: 'exited with code 70', crashesInARow: 1, delayMs: 0 });
    assert.deepEqual(h.events[3], { type: 'crash', reason: 'the test worker exited (code 70) while starting', crashesInARow: 2, delayMs: 1 });
    assert.deepEqual(h.events[5], { type: 'gave-up', reason: 'told to fail its start', crashesInARow: 3 });
    assert.equal(h.slot.restarts, 2);
    assert.equal(h.slot.live, false);
  } finally {
    await h.slot.close();
  }
});

test('a first start that fails rejects with its error, and nothing restarts it', async () => {
  const a = harness(IMMEDIATE, ['exit']);
  await assert.rejects(a.slot.start(), is(424, /^the test worker exited \(code 70\) while starting$/));
  const b = harness(IMMEDIATE, ['init-error']);
  await assert.rejects(b.slot.start(), is(424, /^told to fail its start$/));
  await Promise.all([a.slot.close(), b.slot.close()]);
  for (const h of [a, b]) {
    assert.deepEqual(h.types(), []);
    assert.equal(h.starts(), 1);
    assert.equal(h.slot.live, false);
  }
});

test('close(): held tasks fail with the close error, the worker gets its stop message, and nothing restarts', async () => {
  const h = harness(IMMEDIATE);
  await h.slot.start();
  const held = assert.rejects(h.hold(), is(503, /^test slot closed$/));
  await h.slot.close();
  await held;
  assert.deepEqual(h.exitCodes, [0], "the worker exited on the stop message ('bye'), not by terminate()");
  assert.deepEqual(h.types(), ['ready'], 'a stop is not a crash');
  assert.equal(h.starts(), 1);
  await assert.rejects(h.echo('x'), is(503, /not running/));
});

test('close() during the back-off cancels the restart', async () => {
  const h = harness({ maxCrashes: Infinity, backoffMs: () => 600_000 });
  await h.slot.start();
  await assert.rejects(h.exit(70), is(424, /it is being restarted/));
  await h.until('crash');
  await h.slot.close();
  // A restart left pending would keep this process alive for 10 minutes and show in the events.
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(h.types(), ['ready', 'crash']);
  assert.equal(h.starts(), 1);
});

test('close() while a replacement starts stops it: no ready, no further restart', async () => {
  const h = harness(IMMEDIATE);
  await h.slot.start();
  await assert.rejects(h.exit(70), is(424, /it is being restarted/));
  await h.until('restarting');
  await h.slot.close();
  assert.deepEqual(h.types(), ['ready', 'crash', 'restarting']);
  assert.equal(h.starts(), 2);
  assert.equal(h.slot.live, false);
});

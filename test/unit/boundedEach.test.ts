/** The one bounded-concurrency helper (src/boundedEach.ts) the S3 transfers share. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundedEach } from '../../src/boundedEach';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('every item runs once, in order of start, never more than the limit at once', async () => {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  await boundedEach([1, 2, 3, 4, 5, 6, 7], 3, async (i) => {
    started.push(i);
    most = Math.max(most, ++running);
    for (let k = 0; k < i % 3; k++) await tick();
    running--;
  });
  assert.deepEqual(started, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(most, 3);
});

test('after a failure no item starts; the running ones finish, onFailure runs, the first failure is thrown', async () => {
  const started: number[] = [];
  const finished: number[] = [];
  let saves = 0;
  await assert.rejects(
    boundedEach(
      [1, 2, 3, 4, 5, 6],
      2,
      async (i) => {
        started.push(i);
        if (i === 1) throw new Error('first');
        await tick();
        await tick();
        if (i === 2) throw new Error('second');
        finished.push(i);
      },
      async () => {
        saves++;
      },
    ),
    /first/,
  );
  assert.deepEqual(started, [1, 2]);
  assert.deepEqual(finished, []);
  assert.equal(saves, 2);
});

test('no items: nothing runs', async () => {
  await boundedEach([], 4, async () => assert.fail('ran'));
});

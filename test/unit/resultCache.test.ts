/** The result cache alone: keys cover the model hash and every score-changing option; LRU within its byte budget. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResultCache, SCORE_CHANGING_OPTIONS, type ScoreKey } from '../../src/engine/resultCache';

const BASE: ScoreKey = { truncate: true, direction: 'right', maxLength: 512, mode: 'pair', chunkStride: null, maxChunks: null };
const entry = (x: number) => ({ logits: Float32Array.of(x), tokens: 3 });

test('a key changes with the model hash, the texts and each score-changing option', () => {
  const c = new ResultCache('hash-a', 1 << 20);
  const k = c.key('q', 'd', BASE);
  assert.equal(c.key('q', 'd', { ...BASE }), k, 'same inputs, same key');
  assert.notEqual(new ResultCache('hash-b', 1 << 20).key('q', 'd', BASE), k, 'another model file');
  assert.notEqual(c.key('q2', 'd', BASE), k);
  assert.notEqual(c.key('q', 'd2', BASE), k);
  assert.notEqual(c.key('qd', '', BASE), c.key('q', 'd', BASE), 'texts are delimited, not concatenated');
  const changed: Record<string, ScoreKey[string & keyof ScoreKey]> = { truncate: false, direction: 'left', maxLength: 256, mode: 'chunk', chunkStride: 16, maxChunks: 2 };
  for (const o of SCORE_CHANGING_OPTIONS) assert.notEqual(c.key('q', 'd', { ...BASE, [o]: changed[o] }), k, o);
});

test('the least recently used entries leave first, and the byte budget holds', () => {
  const c = new ResultCache('h', 1000);
  const keys = Array.from({ length: 10 }, (_, i) => c.key(`q${i}`, 'd', BASE));
  c.set(keys[0]!, entry(0));
  c.set(keys[1]!, entry(1));
  assert.equal(c.get(keys[0]!)?.logits[0], 0, 'touch 0: 1 is now the oldest');
  for (let i = 2; i < 10; i++) c.set(keys[i]!, entry(i));
  assert.ok(c.sizeBytes <= 1000, `${c.sizeBytes} bytes`);
  assert.ok(c.size >= 2 && c.size < 10);
  assert.equal(c.get(keys[1]!), undefined, 'the oldest went first');
  assert.equal(c.get(keys[9]!)?.logits[0], 9, 'the newest stays');
});

/**
 * Start-up: the memory layout (engine/memoryLayout.ts) is chosen and named in the ready line and
 * /info; the load phases are timed there too; the tokenizer and the sessions start side by side,
 * and a tokenizer that cannot load still stops start-up with one clear line; the shared layout
 * (one memory-mapped .ort copy) scores like separate sessions and reuses its copy on a restart.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyToTemp, ensureModel } from '../helpers/models';
import { rerankRawScores, startServer, type TestServer } from '../helpers/server';

function readyLine(logs: readonly string[]): Record<string, any> {
  const lines = logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
  const ready = lines.filter((l) => l.msg === 'ready');
  assert.equal(ready.length, 1, logs.join('\n'));
  return ready[0]!;
}

const DOCS = ['the cat sat on the mat', 'stock markets fell sharply today', 'a kitten is a young cat', 'cats'];

describe('start-up: memory layout and load phases', () => {
  let cacheDir: string;
  let perSession: TestServer;
  let dir: string;
  before(async () => {
    dir = await ensureModel({ preset: 'tiny' });
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'startup-cache-'));
    // INTRA_OP_THREADS='' unsets the test default: the layout is chosen, not configured.
    perSession = await startServer({ env: { MODEL_DIR: dir, INTRA_OP_THREADS: '', MODEL_CACHE_DIR: cacheDir } });
  });
  after(async () => {
    await perSession?.stop();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('names the chosen layout and why in the ready line and /info', async () => {
    const r = readyLine(perSession.logs);
    const layout = r.memory_layout;
    assert.equal(layout.kind, 'per-session', 'a model of a few MB keeps one session per core');
    assert.match(layout.reason, /MB < 200 MB|core\(s\): one session/);
    assert.equal(layout.sessions, r.inference_workers);
    assert.equal(layout.threads_per_session, r.intra_op_threads);
    const info = (await (await fetch(`${perSession.url}/info`)).json()) as Record<string, any>;
    assert.deepEqual(info.device.memory_layout, layout);
    assert.equal(fs.existsSync(path.join(cacheDir, 'ort-format')), false, 'no .ort copy for a layout that does not use it');
  });

  it('times every load phase, the overlapping ones inside `engine`', async () => {
    const r = readyLine(perSession.logs);
    for (const phase of ['resolve', 'spec', 'engine', 'tokenizer', 'sessions', 'session_warmup', 'warmup', 'total']) {
      assert.equal(typeof r.load_ms[phase], 'number', `load_ms.${phase} in ${JSON.stringify(r.load_ms)}`);
    }
    const ms = r.load_ms as Record<string, number>;
    // Tokenizer and sessions start together: the engine phase is at most their sum, at least the longer one.
    assert.ok(ms.engine! + 1 >= Math.max(ms.tokenizer!, ms.sessions! + ms.session_warmup!), JSON.stringify(ms));
    assert.ok(Math.abs(ms.total! - (ms.resolve! + ms.spec! + ms.engine! + ms.warmup!)) <= 3, JSON.stringify(ms));
    const info = (await (await fetch(`${perSession.url}/info`)).json()) as Record<string, any>;
    assert.deepEqual(info.load_ms, r.load_ms);
  });

  it('MEMORY_LAYOUT=shared: two sessions on one memory-mapped .ort copy score like separate sessions, and a restart reuses the copy', async () => {
    const env = { MODEL_DIR: dir, MEMORY_LAYOUT: 'shared', INFERENCE_WORKERS: '2', INTRA_OP_THREADS: '1', MODEL_CACHE_DIR: cacheDir };
    let s = await startServer({ env });
    try {
      const r = readyLine(s.logs);
      assert.deepEqual([r.memory_layout.kind, r.memory_layout.sessions, r.memory_layout.reason], ['shared', 2, 'MEMORY_LAYOUT=shared']);
      assert.ok(r.load_ms.ort_copy > 0, JSON.stringify(r.load_ms));
      const copies = fs.readdirSync(path.join(cacheDir, 'ort-format'));
      assert.equal(copies.length, 1, copies.join());
      assert.match(copies[0]!, /^model-[0-9a-f]+\.ort$/);
      const want = await rerankRawScores(perSession.url, 'what is a cat', DOCS);
      const got = await rerankRawScores(s.url, 'what is a cat', DOCS);
      for (let i = 0; i < DOCS.length; i++) assert.ok(Math.abs(got.scores[i]! - want.scores[i]!) < 1e-4, `pair ${i}: ${got.scores[i]} vs ${want.scores[i]}`);
    } finally {
      await s.stop();
    }
    s = await startServer({ env });
    try {
      assert.ok(s.logs.some((l) => l.includes('memory-mapped .ort copy found')), s.logs.join('\n'));
      assert.equal(readyLine(s.logs).memory_layout.kind, 'shared');
    } finally {
      await s.stop();
    }
  });

  it('a tokenizer that cannot load stops start-up with one clear line while the sessions start beside it', async () => {
    const bad = copyToTemp(dir);
    try {
      const file = path.join(bad, 'tokenizer.json');
      const tok = JSON.parse(fs.readFileSync(file, 'utf8')) as { model: Record<string, unknown> };
      tok.model = { type: 'NoSuchModel' }; // the spec reads tokenizer.json fine; the tokenizer workers refuse it
      fs.writeFileSync(file, JSON.stringify(tok));
      const s = await startServer({ env: { MODEL_DIR: bad, INFERENCE_WORKERS: '2', INTRA_OP_THREADS: '1' }, waitReady: false });
      const ready = s.waitReady(60_000).then(
        () => 'ready',
        () => 'exited',
      );
      assert.equal(await ready, 'exited', 'the server must not become ready with a tokenizer that cannot load');
      const code = await s.exited;
      assert.equal(code, 1);
      const failed = s.logs.filter((l) => l.includes('start-up failed'));
      assert.equal(failed.length, 1, s.logs.join('\n'));
      assert.match(failed[0]!, /tokenizer could not load from .*tokenizer\.json: .*NoSuchModel/);
    } finally {
      fs.rmSync(bad, { recursive: true, force: true });
    }
  });
});

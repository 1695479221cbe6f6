/**
 * The file hasher's one worker (src/artifacts/fileHasher.ts, start only: never restarted): a digest
 * is right, and a worker that died fails the digests asked for after, instead of waiting forever.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FileHasher } from '../../src/artifacts/fileHasher';

test('a worker that exited fails the digests still asked for with why', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hasher-'));
  const file = path.join(dir, 'f.bin');
  const data = Buffer.from('the file hasher reads this back from the page cache');
  fs.writeFileSync(file, data);
  const hasher = new FileHasher();
  try {
    const ok = hasher.start(file, { algo: 'sha256' });
    ok.advance(data.length);
    assert.equal(await ok.finish(), crypto.createHash('sha256').update(data).digest('base64'));
    const job = hasher.start(file, { algo: 'sha256' });
    job.advance(data.length);
    // Reach in to end the worker, as an out-of-memory kill would.
    await (hasher as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await assert.rejects(job.finish(), /the file hasher's worker exited \(code 1\)/);
  } finally {
    await hasher.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

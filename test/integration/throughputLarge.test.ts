/**
 * Large requests against the real server with the tiny model: a request of more than 1,000
 * documents is accepted (no 422 at 33, TEI's limit) and scored right, and 1,000 documents of
 * 8,000 characters each complete with bounded memory (server RSS from /proc/<pid>/status).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { mulberry32 } from '../../scripts/onnx/prng';
import { ensureModel } from '../helpers/models';
import { postJson, rerankRawScores, startServer, type TestServer } from '../helpers/server';

const WORDS = 'the river city market north winter paper music garden signal engine forest model bridge harbor story light'.split(' ');

function text(rand: () => number, chars: number): string {
  let s = '';
  while (s.length < chars) s += WORDS[Math.floor(rand() * WORDS.length)]! + ' ';
  return s.slice(0, chars);
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS');
  return Number(m[1]) * 1024;
}

const scoresOf = async (url: string, query: string, texts: readonly string[]): Promise<number[]> => (await rerankRawScores(url, query, texts)).scores;

describe('throughput: large requests (tiny model)', () => {
  let s: TestServer;
  before(async () => {
    // 1,000 x 8,000 characters is an 8 MB body, above the 6 MiB SageMaker default.
    s = await startServer({ env: { MODEL_DIR: await ensureModel({ preset: 'tiny' }), MAX_PAYLOAD_MB: '16' } });
  });
  after(async () => {
    await s?.stop();
  });

  it('accepts 1,200 documents in one request and scores each as it scores alone in small requests', async () => {
    const rand = mulberry32(99);
    const docs = Array.from({ length: 1200 }, () => text(rand, 40 + Math.floor(rand() * 400)));
    const query = 'river city music';
    const all = await scoresOf(s.url, query, docs);
    assert.equal(all.length, 1200);
    for (let start = 0; start < docs.length; start += 100) {
      const part = await scoresOf(s.url, query, docs.slice(start, start + 10));
      part.forEach((x, j) => assert.ok(Math.abs(x - all[start + j]!) <= 1e-5, `doc ${start + j}: ${all[start + j]} in the big request vs ${x} alone`));
    }
  });

  it('1,000 documents of 8,000 characters complete (truncated) with bounded memory', async (t) => {
    const pid = s.proc.pid!;
    const rand = mulberry32(5);
    const docs = Array.from({ length: 1000 }, () => text(rand, 8000));
    await scoresOf(s.url, 'warm', ['up']);
    const before = rssBytes(pid);
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 50);
    try {
      const r = await postJson(`${s.url}/rerank`, { query: 'harbor bridge story', texts: docs, raw_scores: true });
      assert.equal(r.status, 200, r.text.slice(0, 300));
      assert.equal((r.json as unknown[]).length, 1000);
      const sample = await scoresOf(s.url, 'harbor bridge story', docs.slice(0, 3));
      const big = new Map((r.json as Array<{ index: number; score: number }>).map((x) => [x.index, x.score]));
      sample.forEach((x, j) => assert.ok(Math.abs(x - big.get(j)!) <= 1e-5, `doc ${j}`));
    } finally {
      clearInterval(timer);
    }
    peak = Math.max(peak, rssBytes(pid));
    const growth = peak - before;
    t.diagnostic(`server RSS ${(before / 2 ** 20).toFixed(0)} MiB before, ${(peak / 2 ** 20).toFixed(0)} MiB peak (+${(growth / 2 ** 20).toFixed(0)} MiB)`);
    assert.ok(growth < 2 ** 30, `RSS grew by ${(growth / 2 ** 20).toFixed(0)} MiB`);
  });
});

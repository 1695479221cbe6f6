/**
 * `node dist/bench/pingStall.js [--only NAME] [--rounds N]` (`make bench-ping`): the event-loop
 * target of issue 11 ("/ping answers within 100 ms while any single request is parsed or built"),
 * measured against the real server process. For each payload, /ping is probed every 100 ms while
 * the request runs and the slowest /ping is reported, with the request's own time; for the huge
 * chunked document a small request is sent 300 ms in, and its latency is reported next to the same
 * small request on an idle server (tokenizer fairness). One tokenizer worker, as in the tests.
 * Writes bench/pingStall.json. Run it on a quiet machine: the figures are wall times.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { measured } from '../scripts/dev/hostile';
import { ensureModel } from '../scripts/dev/models';
import { postJson, startServer, type TestServer } from '../scripts/dev/server';

const ROOT = path.resolve(__dirname, '..', '..');
const QUERY = 'What is the capital of France?';
const PARIS = 'Paris is the capital and largest city of France.';

interface Row {
  readonly name: string;
  readonly status: number;
  readonly requestMs: number;
  readonly pingMaxMs: number;
  readonly rssGrowthMb: number;
  readonly smallAloneMs?: number;
  readonly smallBehindMs?: number;
}

async function post(url: string, body: Buffer): Promise<number> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await r.arrayBuffer();
  return r.status;
}

async function smallMs(s: TestServer): Promise<number> {
  const t0 = performance.now();
  const r = await postJson(`${s.url}/rerank`, { query: QUERY, texts: [PARIS] });
  if (r.status !== 200) throw new Error(`small request: ${r.status} ${r.text}`);
  return performance.now() - t0;
}

interface Payload {
  readonly name: string;
  readonly path: string;
  readonly body: () => unknown;
  /** Also send a small request this many ms in, and report its latency. */
  readonly smallAfterMs?: number;
}

async function measure(s: TestServer, p: Payload): Promise<Row> {
  const body = Buffer.from(JSON.stringify(p.body()));
  const alone = p.smallAfterMs !== undefined ? await smallMs(s) : undefined;
  let behind: number | undefined;
  const m = await measured(s.url, s.proc.pid!, async () => {
    const big = post(`${s.url}${p.path}`, body);
    if (p.smallAfterMs !== undefined) {
      await new Promise((r) => setTimeout(r, p.smallAfterMs));
      behind = await smallMs(s);
    }
    return big;
  });
  return {
    name: p.name,
    status: m.result,
    requestMs: m.ms,
    pingMaxMs: m.ping.maxMs,
    rssGrowthMb: m.rssMb,
    ...(alone !== undefined ? { smallAloneMs: alone } : {}),
    ...(behind !== undefined ? { smallBehindMs: behind } : {}),
  };
}

/** A document of about `mb` MB of plain words. */
const words = (mb: number): string => 'lorem ipsum dolor sit amet '.repeat(Math.round((mb * 1e6) / 27));

const DEFAULTS: Payload[] = [
  { name: 'chunk: one 0.75 MB document, ~940 windows (long_documents=chunk), small request 300 ms in', path: '/rerank', body: () => ({ query: QUERY, texts: [words(0.75)], long_documents: 'chunk' }), smallAfterMs: 300 },
  { name: 'chunk: one 2.4 MB document, over MAX_CHUNK_WINDOWS (422), small request 300 ms in', path: '/rerank', body: () => ({ query: QUERY, texts: [words(2.4)], long_documents: 'chunk' }), smallAfterMs: 300 },
  { name: 'truncate: one 5 MB document (right)', path: '/rerank', body: () => ({ query: QUERY, texts: [words(5)] }), smallAfterMs: 300 },
  { name: 'truncate: one 5 MB document (left)', path: '/rerank', body: () => ({ query: QUERY, texts: [words(5)], truncation_direction: 'left' }), smallAfterMs: 300 },
  { name: 'rerank: 4,096 texts of 600 chars (2.5 MB)', path: '/rerank', body: () => ({ query: QUERY, texts: Array.from({ length: 4096 }, (_, i) => `${i} ${'x'.repeat(590)}`) }) },
];

/** A fresh prefix per call, so the result cache (on, as in production) never answers a repeat. */
const salt = (): string => Math.random().toString(36).slice(2, 8);

/** Admitted only with MAX_CLIENT_BATCH_SIZE and the payload limit raised (the server below). */
const RAISED: Payload[] = [
  { name: 'raised limits: 60,000 short texts (3.6 MB)', path: '/rerank', body: () => {
      const k = salt();
      return { query: QUERY, texts: Array.from({ length: 60_000 }, (_, i) => `${k} document ${i} text`.padEnd(52, 'x')) };
    } },
  { name: 'raised limits: 8,000 texts of 600 chars (5.1 MB)', path: '/rerank', body: () => {
      const k = salt();
      return { query: QUERY, texts: Array.from({ length: 8000 }, (_, i) => `${k} document ${i} ${'word '.repeat(117)}`) };
    } },
];

const DECODER: Payload[] = [
  { name: 'decoder: 4,096 pairs with an 8,192-char instruction', path: '/rerank', body: () => ({ query: QUERY, texts: Array.from({ length: 4096 }, (_, i) => `doc ${i}`), instruction: 'judge the document '.repeat(431) }), smallAfterMs: 300 },
];

async function suite(env: Record<string, string>, payloads: Payload[], only: string | undefined, rounds: number): Promise<Row[]> {
  const chosen = payloads.filter((p) => only === undefined || p.name.includes(only));
  if (chosen.length === 0) return [];
  const s = await startServer({ env });
  const rows: Row[] = [];
  try {
    for (const p of chosen) {
      for (let r = 0; r < rounds; r++) {
        const row = await measure(s, p);
        rows.push(row);
        console.log(
          `${row.name} | ${row.status} | ${row.requestMs.toFixed(0)} ms | ping max ${row.pingMaxMs.toFixed(0)} ms | +${row.rssGrowthMb.toFixed(0)} MiB` +
            (row.smallBehindMs !== undefined ? ` | small alone ${row.smallAloneMs!.toFixed(0)} ms, behind ${row.smallBehindMs.toFixed(0)} ms` : ''),
        );
      }
    }
  } finally {
    await s.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' }, rounds: { type: 'string', default: '3' } } });
  const rounds = Math.max(1, Number(values.rounds));
  const demo = await ensureModel({ preset: 'demo' });
  const rows = [
    ...(await suite({ DEMO_MODEL_DIR: demo }, DEFAULTS, values.only, rounds)),
    ...(await suite({ DEMO_MODEL_DIR: demo, MAX_CLIENT_BATCH_SIZE: '65536', MAX_CONCURRENT_REQUESTS: '65536', MAX_PAYLOAD_MB: '16', RESULT_CACHE_MB: '64' }, RAISED, values.only, rounds)),
    ...(await suite({ MODEL_DIR: await ensureModel({ preset: 'qwen3-tiny' }) }, DECODER, values.only, rounds)),
  ];
  const out = path.join(ROOT, 'bench', 'pingStall.json');
  fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + '\n');
  console.log(`wrote ${out}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

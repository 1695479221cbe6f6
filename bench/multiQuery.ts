/**
 * `node dist/bench/multiQuery.js [--rounds N] [--preset minilm-l2|minilm]` (defaults: 5 rounds, the
 * 2-layer model, so a round fits the request timeout on a loaded machine): 8 queries against the
 * same 100 documents, as one POST /rerank/multi versus 8 separate POST /v1/rerank calls (sent one
 * after the other, and all at once). Rounds alternate the three so drift on a shared machine hits
 * each alike; the result cache is off so every pair is scored. Reports the median wall time and
 * the server's summed tokenization time (x-tokenization-time), where tokenizing each document once
 * instead of once per query shows. Writes bench/multiQuery.json.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureModel } from '../scripts/dev/models';
import { percentile } from './load';
import { startReranker } from './procs';
import { makeWorkload } from '../scripts/dev/workload';

const ROOT = path.resolve(__dirname, '..', '..');
const QUERIES = 8;
const DOCUMENTS = 100;

interface Timed {
  readonly ms: number;
  readonly tokenizationMs: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function post(url: string, body: unknown): Promise<{ status: number; tokenizationMs: number; body: string }> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': data.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, tokenizationMs: Number(res.headers['x-tokenization-time'] ?? 0), body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function timed(f: () => Promise<Array<{ status: number; tokenizationMs: number; body: string }>>): Promise<Timed> {
  const t0 = performance.now();
  const rs = await f();
  const ms = performance.now() - t0;
  for (const r of rs) if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
  return { ms, tokenizationMs: rs.reduce((n, r) => n + r.tokenizationMs, 0) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, preset: { type: 'string', default: 'minilm-l2' } } });
  const rounds = Number(values.rounds);
  const modelDir = await ensureModel({ preset: values.preset as 'minilm' | 'minilm-l2', layout: 'onnx' });
  const work = makeWorkload({ requests: 12, seed: 99 });
  const queries = work.slice(0, QUERIES).map((r) => r.query);
  const documents = work.flatMap((r) => r.texts).slice(0, DOCUMENTS);
  const server = await startReranker(modelDir, { RESULT_CACHE_MB: '0', REQUEST_TIMEOUT: '600' });
  try {
    const url = server.url;
    const multi = (): Promise<Timed> => timed(async () => [await post(`${url}/rerank/multi`, { queries, documents })]);
    const sequential = (): Promise<Timed> =>
      timed(async () => {
        const out = [];
        for (const query of queries) out.push(await post(`${url}/v1/rerank`, { query, documents }));
        return out;
      });
    const concurrent = (): Promise<Timed> => timed(() => Promise.all(queries.map((query) => post(`${url}/v1/rerank`, { query, documents }))));
    const runs: Record<'multi' | 'sequential' | 'concurrent', Timed[]> = { multi: [], sequential: [], concurrent: [] };
    await multi();
    await sequential();
    for (let i = 0; i < rounds; i++) {
      runs.multi.push(await multi());
      runs.sequential.push(await sequential());
      runs.concurrent.push(await concurrent());
    }
    const med = (xs: number[]): number => Number(percentile([...xs].sort((a, b) => a - b), 50).toFixed(1));
    const summary = Object.fromEntries(
      Object.entries(runs).map(([k, v]) => [k, { median_ms: med(v.map((x) => x.ms)), tokenization_ms_summed: med(v.map((x) => x.tokenizationMs)), rounds: v.length }]),
    );
    const result = { date: new Date().toISOString(), preset: values.preset, queries: QUERIES, documents: DOCUMENTS, pairs: QUERIES * DOCUMENTS, ...summary };
    console.log(JSON.stringify(result, null, 2));
    fs.writeFileSync(path.join(ROOT, 'bench', 'multiQuery.json'), JSON.stringify(result, null, 2) + '\n');
  } finally {
    await server.stop();
    agent.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

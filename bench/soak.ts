/**
 * Soak test (not part of `make test`): `make soak` = `node dist/bench/soak.js [--minutes 10]`.
 *
 * Loopback only (the server binds 127.0.0.1), bounded in time. First measures capacity with a
 * short closed-loop run (16 clients, each sends as soon as its last answer came), then drives an
 * open-loop load paced at 80 % of that request rate (requests leave on a fixed schedule whatever
 * the answers do; latency counts from the scheduled time, so a stall is not hidden) for --minutes.
 * Reports per window (a minute by default): requests, errors, p50/p99 latency and the server's RSS
 * (median of 1 s samples). Verdict: zero errors, last window's RSS within 10 % of the first's, and
 * the max/min ratio of the windows' p99 (stable when at most --p99-ratio-max, default 2).
 * Writes bench/soak.json and ends with one line: `soak PASS|FAIL ...`.
 *
 * Options: --minutes N (default 10; fractions allowed, e.g. 0.5) --window-seconds N (default 60,
 * or a quarter of a run shorter than 4 minutes) --load 0.8 --capacity-seconds N (default 20)
 * --preset minilm|minilm-l2|tiny (default minilm) --env KEY=VALUE (repeatable) --out FILE.
 * `node dist/bench/run.js --soak SECONDS` runs the same thing through runSoak().
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureModel } from '../scripts/dev/models';
import { percentile, request, rssSampler, runLoad } from './load';
import { startReranker } from './procs';
import { makeWorkload, type BenchRequest } from '../scripts/dev/workload';

const ROOT = path.resolve(__dirname, '..', '..');
const SEED = 1234;
/** Requests still open at the end get this long to answer (the server's own timeout is 55 s). */
const DRAIN_MS = 60_000;

export interface SoakOptions {
  readonly minutes: number;
  readonly windowSeconds?: number;
  readonly load?: number;
  readonly capacitySeconds?: number;
  readonly p99RatioMax?: number;
  readonly env?: Record<string, string>;
  readonly out: string;
}

interface Done {
  readonly scheduled: number;
  readonly latency: number;
  readonly ok: boolean;
}

export interface SoakWindow {
  readonly index: number;
  readonly fromS: number;
  readonly toS: number;
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly rssMb: number;
}

const mb = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Sends request i at t0 + i / rate for `seconds`, without waiting for answers. */
async function openLoop(url: string, bodies: readonly Buffer[], rate: number, seconds: number): Promise<{ done: Done[]; t0: number; firstError?: string; unanswered: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const done: Done[] = [];
  const open = new Set<Promise<void>>();
  let firstError: string | undefined;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  for (let i = 0; ; i++) {
    const due = t0 + (i * 1000) / rate;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const p = request(agent, url + '/rerank', 'POST', bodies[i % bodies.length]!).then(
      (r) => {
        const ok = r.status === 200;
        if (!ok) firstError ??= `${r.status} ${r.body.slice(0, 200)}`;
        done.push({ scheduled: due - t0, latency: performance.now() - due, ok });
      },
      (e: unknown) => {
        firstError ??= e instanceof Error ? e.message : String(e);
        done.push({ scheduled: due - t0, latency: performance.now() - due, ok: false });
      },
    );
    const tracked = p.finally(() => open.delete(tracked));
    open.add(tracked);
  }
  const drained = await Promise.race([Promise.all(open).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), DRAIN_MS).unref())]);
  const unanswered = drained ? 0 : open.size;
  if (unanswered > 0) firstError ??= `${unanswered} requests unanswered ${DRAIN_MS / 1000} s after the end`;
  agent.destroy();
  return { done, t0, unanswered, ...(firstError !== undefined ? { firstError } : {}) };
}

export async function soak(modelDir: string, workload: readonly BenchRequest[], o: SoakOptions): Promise<boolean> {
  const seconds = o.minutes * 60;
  if (!Number.isFinite(seconds) || seconds < 10) throw new Error('--minutes must give at least 10 seconds');
  const windowS = o.windowSeconds ?? (seconds >= 240 ? 60 : seconds / 4);
  const load = o.load ?? 0.8;
  const capacitySeconds = o.capacitySeconds ?? 20;
  const p99RatioMax = o.p99RatioMax ?? 2;
  const srv = await startReranker(modelDir, o.env ?? {});
  try {
    await runLoad(srv.url, workload, 2, 3); // warm-up, not counted
    const cap = await runLoad(srv.url, workload, 16, capacitySeconds);
    const capacity = cap.requests / cap.seconds;
    const rate = capacity * load;
    console.log(
      `capacity: ${capacity.toFixed(1)} req/s (${cap.pairsPerSec.toFixed(0)} pairs/s, C=16 closed loop for ${capacitySeconds} s, ${cap.errors} errors); ` +
        `soaking at ${rate.toFixed(1)} req/s (${Math.round(load * 100)} %) for ${seconds} s, windows of ${windowS} s`,
    );

    const rss = rssSampler(srv.pid, 1000);
    const run = await openLoop(srv.url, workload.map((r) => Buffer.from(JSON.stringify({ query: r.query, texts: r.texts, raw_scores: true }))), rate, seconds);
    rss.stop();

    const nWindows = Math.max(1, Math.floor(seconds / windowS + 1e-9));
    const windows: SoakWindow[] = [];
    for (let w = 0; w < nWindows; w++) {
      const from = w * windowS * 1000;
      const to = w === nWindows - 1 ? Infinity : (w + 1) * windowS * 1000;
      const inWin = run.done.filter((d) => d.scheduled >= from && d.scheduled < to);
      const lat = inWin.filter((d) => d.ok).map((d) => d.latency).sort((a, b) => a - b);
      const rssIn = rss.samples.filter((s) => Number.isFinite(s.rss) && s.t * 1000 >= from && s.t * 1000 < to).map((s) => s.rss).sort((a, b) => a - b);
      windows.push({
        index: w,
        fromS: r2(from / 1000),
        toS: r2(Math.min(to, seconds * 1000) / 1000),
        requests: inWin.length,
        errors: inWin.filter((d) => !d.ok).length,
        p50Ms: r2(percentile(lat, 50)),
        p99Ms: r2(percentile(lat, 99)),
        rssMb: mb(percentile(rssIn, 50)),
      });
    }
    const total = run.done.length + run.unanswered;
    const errors = run.done.filter((d) => !d.ok).length + run.unanswered;
    const first = windows[0]!;
    const last = windows[windows.length - 1]!;
    const rssDrift = (last.rssMb - first.rssMb) / first.rssMb;
    const p99s = windows.map((w) => w.p99Ms).filter(Number.isFinite);
    const p99Ratio = Math.max(...p99s) / Math.min(...p99s);
    const achieved = total / seconds;
    const checks = {
      noErrors: errors === 0,
      rssWithin10Pct: Math.abs(rssDrift) <= 0.1,
      p99Stable: p99Ratio <= p99RatioMax,
    };
    const pass = checks.noErrors && checks.rssWithin10Pct && checks.p99Stable;
    const result = {
      date: new Date().toISOString(),
      loopback: srv.url,
      modelDir,
      serverEnv: o.env ?? {},
      seconds,
      windowSeconds: windowS,
      capacity: { clients: 16, seconds: r2(cap.seconds), requestsPerSec: r2(capacity), pairsPerSec: r2(cap.pairsPerSec), p99Ms: r2(cap.p99), errors: cap.errors },
      load,
      targetRequestsPerSec: r2(rate),
      achievedRequestsPerSec: r2(achieved),
      requests: total,
      errors,
      ...(run.firstError !== undefined ? { firstError: run.firstError } : {}),
      windows,
      rssFirstMb: first.rssMb,
      rssLastMb: last.rssMb,
      rssDrift: r2(rssDrift * 100) / 100,
      peakRssMb: mb(rss.peak()),
      p99RatioMaxMin: r2(p99Ratio),
      p99RatioLimit: p99RatioMax,
      checks,
      pass,
    };
    fs.writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
    console.log('window     requests errors   p50 ms   p99 ms   RSS MB');
    for (const w of windows) {
      console.log(
        `${`${w.fromS}-${w.toS}s`.padEnd(10)} ${String(w.requests).padStart(8)} ${String(w.errors).padStart(6)} ${w.p50Ms.toFixed(1).padStart(8)} ${w.p99Ms.toFixed(1).padStart(8)} ${w.rssMb.toFixed(1).padStart(8)}`,
      );
    }
    if (run.firstError !== undefined) console.log(`first error: ${run.firstError}`);
    console.log(`wrote ${o.out}`);
    console.log(
      `soak ${pass ? 'PASS' : 'FAIL'}: ${total} requests in ${seconds} s at ${achieved.toFixed(1)} req/s (${Math.round(load * 100)} % of ${capacity.toFixed(1)}), ` +
        `${errors} errors; RSS ${first.rssMb} -> ${last.rssMb} MB (${(rssDrift * 100).toFixed(1)} %, limit 10 %); ` +
        `p99 max/min over ${windows.length} windows ${p99Ratio.toFixed(2)} (limit ${p99RatioMax})`,
    );
    return pass;
  } finally {
    await srv.stop();
  }
}

/** For `bench/run.js --soak SECONDS`. */
export async function runSoak(modelDir: string, seconds: number, workload: readonly BenchRequest[], env: Record<string, string>, out: string): Promise<void> {
  const pass = await soak(modelDir, workload, { minutes: seconds / 60, env, out });
  if (!pass) process.exitCode = 1;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      'window-seconds': { type: 'string' },
      load: { type: 'string', default: '0.8' },
      'capacity-seconds': { type: 'string', default: '20' },
      'p99-ratio-max': { type: 'string', default: '2' },
      preset: { type: 'string', default: 'minilm' },
      env: { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
    },
  });
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
    return n;
  };
  const preset = values.preset as 'minilm' | 'minilm-l2' | 'tiny';
  const modelDir = await ensureModel({ preset, layout: 'onnx' });
  const env = Object.fromEntries(values.env!.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const windowSeconds = num('window-seconds', values['window-seconds']);
  const pass = await soak(modelDir, makeWorkload({ requests: 400, seed: SEED }), {
    minutes: num('minutes', values.minutes)!,
    ...(windowSeconds !== undefined ? { windowSeconds } : {}),
    load: num('load', values.load)!,
    capacitySeconds: num('capacity-seconds', values['capacity-seconds'])!,
    p99RatioMax: num('p99-ratio-max', values['p99-ratio-max'])!,
    env,
    out: values.out ?? path.join(ROOT, 'bench', 'soak.json'),
  });
  process.exitCode = pass ? 0 : 1;
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}

/**
 * Load generation over loopback: C closed-loop clients (each sends its next request as soon as the
 * previous one answers) for a fixed time, a /ping prober, an RSS sampler that reads
 * /proc/<pid>/status, and a /metrics scraper. Plain node:http with a keep-alive agent: fetch
 * (undici) costs more per request, and on 2 shared cores the client's own CPU is not free.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { BenchRequest } from '../scripts/dev/workload';

export interface HttpResult {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

export function request(agent: http.Agent, url: string, method: 'GET' | 'POST', body?: Buffer): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface LoadResult {
  readonly clients: number;
  readonly seconds: number;
  readonly requests: number;
  readonly pairs: number;
  readonly errors: number;
  readonly pairsPerSec: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  /** Indices (into the workload) of the requests that completed, for FLOP counting. */
  readonly completed: number[];
  /** What the first failed request said (status and body, or the socket error). */
  readonly firstError?: string;
}

/**
 * C clients for `seconds`; client k sends workload requests k, k + C, k + 2C, ... (cycling), so
 * every run of the same C sees the same sequence. Requests still open at the deadline are awaited
 * but not counted, so pairs/s counts only work finished inside the window.
 */
export async function runLoad(url: string, workload: readonly BenchRequest[], clients: number, seconds: number, path = '/rerank'): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const bodies = workload.map((r) => Buffer.from(JSON.stringify({ query: r.query, texts: r.texts, raw_scores: true })));
  const lat: number[] = [];
  const completed: number[] = [];
  let pairs = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let lastDone = t0;
  const client = async (k: number): Promise<void> => {
    for (let n = k; performance.now() < end; n += clients) {
      const i = n % workload.length;
      const s = performance.now();
      try {
        const r = await request(agent, url + path, 'POST', bodies[i]!);
        const now = performance.now();
        if (now > end) break;
        if (r.status !== 200) {
          errors++;
          firstError ??= `${r.status} ${r.body.slice(0, 200)}`;
          continue;
        }
        lat.push(now - s);
        completed.push(i);
        pairs += workload[i]!.texts.length;
        lastDone = now;
      } catch (e) {
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, k) => client(k)));
  agent.destroy();
  // A window that ends mid-request is cut at the last completion, not at the deadline.
  const secondsMeasured = Math.max(0.001, (Math.min(lastDone, end) - t0) / 1000);
  lat.sort((a, b) => a - b);
  return {
    clients,
    seconds: secondsMeasured,
    requests: lat.length,
    pairs,
    errors,
    pairsPerSec: pairs / secondsMeasured,
    p50: percentile(lat, 50),
    p95: percentile(lat, 95),
    p99: percentile(lat, 99),
    completed,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/**
 * A fixed amount of work: `clients` closed-loop clients take the requests in order from one shared
 * list until it is empty. Returns the seconds from the first send to the last reply, so the
 * server is timed on exactly these pairs (no window that ends with requests half scored).
 */
export async function runFixed(url: string, workload: readonly BenchRequest[], clients: number, path = '/rerank'): Promise<{ seconds: number; pairs: number; errors: number; p50: number; p99: number; firstError?: string }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const bodies = workload.map((r) => Buffer.from(JSON.stringify({ query: r.query, texts: r.texts, raw_scores: true })));
  let next = 0;
  let pairs = 0;
  let errors = 0;
  let firstError: string | undefined;
  const lat: number[] = [];
  const t0 = performance.now();
  const client = async (): Promise<void> => {
    for (let i = next++; i < workload.length; i = next++) {
      try {
        const s = performance.now();
        const r = await request(agent, url + path, 'POST', bodies[i]!);
        lat.push(performance.now() - s);
        if (r.status === 200) pairs += workload[i]!.texts.length;
        else {
          errors++;
          firstError ??= `${r.status} ${r.body.slice(0, 200)}`;
        }
      } catch (e) {
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, () => client()));
  agent.destroy();
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { seconds, pairs, errors, p50: percentile(lat, 50), p99: percentile(lat, 99), ...(firstError !== undefined ? { firstError } : {}) };
}

/**
 * GET /ping every `everyMs` until stop(); returns latencies (ms). A failed ping counts as 10 s.
 * 10 per second: SageMaker pings every few seconds, and a much faster prober measurably slows a
 * saturated 2-core server (each wake-up preempts an inference thread).
 */
export function pinger(url: string, everyMs = 100): { stop(): Promise<number[]> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const lat: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const s = performance.now();
      try {
        const r = await request(agent, url + '/ping', 'GET');
        lat.push(r.status === 200 ? performance.now() - s : 10_000);
      } catch {
        lat.push(10_000);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      agent.destroy();
      return lat;
    },
  };
}

/** Resident set size of a process in bytes (VmRSS), or NaN when it cannot be read. */
export function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Samples RSS every `everyMs`; peak() is the largest sample so far. */
export function rssSampler(pid: number, everyMs = 200): { peak(): number; samples: Array<{ t: number; rss: number }>; stop(): void } {
  const samples: Array<{ t: number; rss: number }> = [];
  const t0 = performance.now();
  const take = (): void => {
    samples.push({ t: (performance.now() - t0) / 1000, rss: rssOf(pid) });
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    peak: () => samples.reduce((m, s) => (Number.isFinite(s.rss) ? Math.max(m, s.rss) : m), 0),
    stop: () => {
      clearInterval(timer);
      take();
    },
  };
}

/** Sums of the engine's batch metrics from /metrics (Prometheus text). */
export async function batchCounters(url: string): Promise<{ batches: number; pairs: number; realTokens: number; paddedTokens: number }> {
  const agent = new http.Agent();
  const r = await request(agent, url + '/metrics', 'GET');
  agent.destroy();
  const get = (name: string): number => Number(new RegExp(`^${name} ([\\d.e+]+)$`, 'm').exec(r.body)?.[1] ?? NaN);
  return {
    batches: get('reranker_batches_total'),
    pairs: get('reranker_batch_pairs_sum'),
    realTokens: get('reranker_batch_real_tokens_total'),
    paddedTokens: get('reranker_batch_padded_tokens_total'),
  };
}

export function procTicks(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const rest = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

function systemTicks(): { busy: number; total: number } {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3]! + f[4]!;
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

export interface CpuShare {
  /** Cores busy on the whole machine, on average. */
  readonly machine: number;
  /** Cores used by the processes under test (pids) and this bench process. */
  readonly ours: number;
  /** The rest: other tenants of the machine; large values mean the figures are noisy. */
  readonly others: number;
}

/**
 * CPU use over an interval from /proc/stat and /proc/<pid>/stat (clock ticks, 100 Hz): tells
 * whether something else on the machine was competing for the cores during a measurement.
 */
export function cpuMeter(pids: readonly number[]): { stop(): CpuShare } {
  const hz = 100;
  const t0 = performance.now();
  const sys0 = systemTicks();
  const own0 = pids.reduce((n, p) => n + procTicks(p), 0);
  const self0 = process.cpuUsage();
  return {
    stop() {
      const secs = (performance.now() - t0) / 1000;
      const sys1 = systemTicks();
      const own = (pids.reduce((n, p) => n + procTicks(p), 0) - own0) / hz;
      const self = process.cpuUsage(self0);
      const ours = (own + (self.user + self.system) / 1e6) / secs;
      const machine = (sys1.busy - sys0.busy) / hz / secs;
      return { machine, ours, others: Math.max(0, machine - ours) };
    },
  };
}

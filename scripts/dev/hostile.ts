/**
 * Instruments for hostile-input tests against the real server process: a /ping prober (every
 * 100 ms, the slowest answer kept), the server process's peak RSS (Linux /proc: VmHWM after
 * resetting it through clear_refs, so each case measures its own peak), and raw-socket HTTP for
 * requests fetch cannot send.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';

export interface PingReport {
  /** Slowest /ping answer in ms (a probe still unanswered when stopped counts its age). */
  readonly maxMs: number;
  readonly probes: number;
  /** Probes that got no 200. */
  readonly failed: number;
}

/** Probes GET /ping every 100 ms until stop(). */
export function pingProbe(url: string): { stop(): Promise<PingReport> } {
  let maxMs = 0;
  let probes = 0;
  let failed = 0;
  const open = new Set<number>();
  const inFlight = new Set<Promise<void>>();
  const probe = (): void => {
    const t0 = performance.now();
    open.add(t0);
    probes++;
    const p = fetch(`${url}/ping`, { signal: AbortSignal.timeout(10_000) })
      .then(
        async (r) => {
          await r.arrayBuffer();
          if (r.status !== 200) failed++;
        },
        () => void failed++,
      )
      .finally(() => {
        open.delete(t0);
        maxMs = Math.max(maxMs, performance.now() - t0);
        inFlight.delete(p);
      });
    inFlight.add(p);
  };
  probe();
  const timer = setInterval(probe, 100);
  return {
    async stop() {
      clearInterval(timer);
      const now = performance.now();
      for (const t0 of open) maxMs = Math.max(maxMs, now - t0);
      // Let the last probes finish (they count), but no longer than 2 s.
      await Promise.race([Promise.all([...inFlight]), new Promise((r) => setTimeout(r, 2000))]);
      for (const t0 of open) maxMs = Math.max(maxMs, performance.now() - t0);
      return { maxMs, probes, failed };
    },
  };
}

function statusKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

/**
 * Peak RSS of process `pid` from now on: resets the kernel's high-water mark (clear_refs 5) and
 * reads VmHWM later. Growth = peak minus the RSS at the start, in MiB.
 */
export function rssWatch(pid: number): { growthMb(): number; peakMb(): number } {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const base = statusKb(pid, 'VmRSS');
  return {
    growthMb: () => (statusKb(pid, 'VmHWM') - base) / 1024,
    peakMb: () => statusKb(pid, 'VmHWM') / 1024,
  };
}

export interface RawResult {
  readonly text: string;
  /** The server closed the connection (rather than the wait running out). */
  readonly closed: boolean;
  readonly ms: number;
}

/**
 * Writes raw bytes on a fresh socket and collects the answer until the server closes the
 * connection or `waitMs` passes. A number in `chunks` is a pause (ms); `stopWhen` ends early once
 * the text so far matches; `end` half-closes after writing; `destroyAfterMs` drops the socket.
 */
export function rawHttp(
  port: number,
  chunks: Array<string | Buffer | number>,
  opts: { waitMs?: number; stopWhen?: RegExp; end?: boolean; destroyAfterMs?: number } = {},
): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ text, closed, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish(false), opts.waitMs ?? 5000);
    sock.on('data', (d) => {
      text += d.toString('latin1');
      if (opts.stopWhen?.test(text)) finish(false);
    });
    sock.on('close', () => finish(true));
    sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? finish(true) : reject(e)));
    sock.on('connect', async () => {
      for (const c of chunks) {
        if (done) return;
        // unref: a pause still pending when the socket is gone must not keep the test process alive.
        if (typeof c === 'number') await new Promise((r) => setTimeout(r, c).unref());
        else sock.write(c);
      }
      if (opts.end && !done) sock.end();
      if (opts.destroyAfterMs !== undefined) setTimeout(() => finish(true), opts.destroyAfterMs);
    });
  });
}

/** Status and JSON body of a raw answer (the last status line: 100 Continue may come first). */
export function parseRaw(text: string): { status: number; statuses: number[]; json: any } {
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
  const body = text.slice(text.lastIndexOf('\r\n\r\n') + 4);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: statuses.at(-1) ?? 0, statuses, json };
}

export interface Measured<T> {
  readonly result: T;
  readonly ms: number;
  /** Peak RSS growth of the server, MiB. */
  readonly rssMb: number;
  readonly ping: PingReport;
}

/** Runs `fn` while probing /ping and watching the server's peak RSS. */
export async function measured<T>(url: string, pid: number, fn: () => Promise<T>): Promise<Measured<T>> {
  const rss = rssWatch(pid);
  const probe = pingProbe(url);
  const t0 = performance.now();
  let result!: T;
  let ping!: PingReport;
  try {
    result = await fn();
  } finally {
    ping = await probe.stop();
  }
  return { result, ms: performance.now() - t0, rssMb: rss.growthMb(), ping };
}

/**
 * Starts the large request, sends `small` 300 ms later (while the large one is being worked on)
 * and returns both answers with the order they finished in: fairness checks expect the small one first.
 */
export async function smallBehindLarge<L, S>(large: () => Promise<L>, small: () => Promise<S>): Promise<{ large: L; small: S; order: string[] }> {
  const order: string[] = [];
  const bigOne = large().then((r) => {
    order.push('large');
    return r;
  });
  await new Promise((r) => setTimeout(r, 300));
  const smallOne = await small();
  order.push('small');
  return { large: await bigOne, small: smallOne, order };
}

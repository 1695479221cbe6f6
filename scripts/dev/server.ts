/**
 * Starts the real server as a child process (`node dist/src/cli.js serve`) on a free port and
 * talks to it over HTTP, the way SageMaker and users do.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { CLI, ROOT } from './paths';

export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly proc: ChildProcess;
  /** stdout and stderr lines so far. */
  readonly logs: string[];
  /** stdout lines alone, whole, as written (EMF lines must stay single JSON lines there). */
  readonly stdout: string[];
  waitReady(timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  readonly env?: Record<string, string>;
  readonly command?: string[];
  /** Default: wait until /ping says 200. */
  readonly waitReady?: boolean;
}

/** Calls onLine with each whole line the stream writes (a child's stdout or stderr). */
export function eachLine(stream: Readable, onLine: (line: string) => void): void {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine(line);
    }
  });
}

/** The port of the server's "listening" log line, or undefined for any other line (pino writes the message after the fields: match both, in any order). */
export function listeningPort(line: string): number | undefined {
  const m = /"msg":"listening"/.test(line) ? /"port":(\d+)/.exec(line) : null;
  return m ? Number(m[1]) : undefined;
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const cmd = opts.command ?? [process.execPath, CLI, 'serve'];
  const proc = spawn(cmd[0]!, cmd.slice(1), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      PORT: '0',
      HOST: '127.0.0.1',
      SM_MODEL_DIR: '/nonexistent/opt/ml/model',
      INTRA_OP_THREADS: '2',
      TOKENIZER_WORKERS: '1',
      DEVICE: 'cpu',
      // Tests of the engine (batching, faults, overload, metrics) repeat requests and must reach
      // it every time; the result cache is tested where a test turns it on.
      RESULT_CACHE_MB: '0',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const stdout: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const onLine = (line: string, fromStdout: boolean): void => {
      logs.push(line);
      if (fromStdout) stdout.push(line);
      const port = listeningPort(line);
      if (port !== undefined) resolve(port);
    };
    eachLine(proc.stdout!, (line) => onLine(line, true));
    eachLine(proc.stderr!, (line) => onLine(line, false));
    void exited.then((code) => reject(new Error(`server exited (${code}) before listening:\n${logs.join('\n')}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const server: TestServer = {
    url,
    port,
    proc,
    logs,
    stdout,
    exited,
    async waitReady(timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      let exitCode: number | null | undefined;
      void exited.then((c) => (exitCode = c));
      while (Date.now() < end) {
        if (exitCode !== undefined) throw new Error(`server exited (${exitCode}) before ready:\n${logs.join('\n')}`);
        try {
          const r = await fetch(`${url}/ping`);
          if (r.status === 200) return;
        } catch {
          /* not up yet */
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`server not ready after ${timeoutMs} ms:\n${logs.join('\n')}`);
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 35_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  if (opts.waitReady !== false) {
    try {
      await server.waitReady();
    } catch (e) {
      await server.stop('SIGKILL');
      throw e;
    }
  }
  return server;
}

/** POST /rerank with raw_scores: the logits in input order (the response is sorted by score), and the headers. */
export async function rerankRawScores(url: string, query: string, texts: readonly string[]): Promise<{ scores: number[]; headers: Headers }> {
  const r = await postJson(`${url}/rerank`, { query, texts, raw_scores: true });
  assert.equal(r.status, 200, r.text.slice(0, 500));
  const scores = new Array<number>(texts.length);
  for (const it of r.json as Array<{ index: number; score: number }>) scores[it.index] = it.score;
  return { scores, headers: r.headers };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, json, text };
}

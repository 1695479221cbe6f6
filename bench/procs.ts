/**
 * Starts the servers under test as child processes (so their RSS is their own, and their CPU is
 * not the load generator's): our server through its CLI with its real defaults, and the naive peer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { eachLine, listeningPort } from '../scripts/dev/server';
import { request } from './load';

const DIST = path.resolve(__dirname, '..');

export interface Proc {
  readonly url: string;
  readonly pid: number;
  readonly logs: string[];
  stop(): Promise<void>;
}

function start(args: string[], env: Record<string, string>, portFrom: (line: string) => number | undefined): Promise<{ child: ChildProcess; port: number; logs: string[] }> {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      eachLine(stream, (line) => {
        // Keep a bounded tail: a long run logs one line per request.
        if (logs.push(line) > 200) logs.shift();
        const port = portFrom(line);
        if (port !== undefined) resolve({ child, port, logs });
      });
    }
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before listening:\n${logs.join('\n')}`)));
  });
}

async function waitPing(url: string, timeoutMs: number): Promise<void> {
  const agent = new http.Agent();
  const end = Date.now() + timeoutMs;
  try {
    while (Date.now() < end) {
      try {
        if ((await request(agent, url + '/ping', 'GET')).status === 200) return;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${url}/ping did not say 200 within ${timeoutMs} ms`);
  } finally {
    agent.destroy();
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

/** Our server (`node dist/src/cli.js serve`) on the model folder; `env` overrides defaults. */
export async function startReranker(modelDir: string, env: Record<string, string> = {}): Promise<Proc> {
  const { child, port, logs } = await start(
    [path.join(DIST, 'src', 'cli.js'), 'serve'],
    { PORT: '0', HOST: '127.0.0.1', DEVICE: 'cpu', MODEL_DIR: modelDir, SM_MODEL_DIR: '/nonexistent', RESULT_CACHE_MB: '0', ...env },
    listeningPort,
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = stopper(child);
  try {
    await waitPing(url, 120_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, pid: child.pid!, logs, stop };
}

/** The naive Express + transformers.js peer (bench/naivePeer.ts) on the same folder. */
export async function startNaive(modelDir: string): Promise<Proc> {
  const { child, port, logs } = await start([path.join(__dirname, 'naivePeer.js'), '--model', modelDir], {}, (line) => {
    const m = /^listening (\d+)$/.exec(line);
    return m ? Number(m[1]) : undefined;
  });
  const url = `http://127.0.0.1:${port}`;
  return { url, pid: child.pid!, logs, stop: stopper(child) };
}

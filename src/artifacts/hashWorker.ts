/**
 * Worker thread that digests downloaded files while the download runs. The main thread tells it how
 * far each file is complete from its start ("avail"); it reads that much back from the page cache
 * and hashes it, so verification costs little wall time and never blocks the sockets.
 */
import fsp from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { createDigester, type Digester, type DigestSpec } from './digest';

export type ToHashWorker =
  | { readonly id: number; readonly op: 'open'; readonly file: string; readonly spec: DigestSpec }
  | { readonly id: number; readonly op: 'avail'; readonly upTo: number }
  | { readonly id: number; readonly op: 'end' }
  | { readonly id: number; readonly op: 'cancel' };

export type FromHashWorker = { readonly id: number; readonly digest: string } | { readonly id: number; readonly error: string };

interface Job {
  file: string;
  digester: Digester;
  pos: number;
  avail: number;
  ending: boolean;
  running: boolean;
  cancelled: boolean;
}

const CHUNK = 4 * 1024 * 1024;

const jobs = new Map<number, Job>();
const port = parentPort;

async function pump(id: number, job: Job): Promise<void> {
  if (job.running) return;
  job.running = true;
  try {
    const fh = await fsp.open(job.file, 'r');
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      while (!job.cancelled && job.pos < job.avail) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, job.avail - job.pos), job.pos);
        if (bytesRead === 0) throw new Error(`${job.file} is shorter than expected (${job.pos} bytes)`);
        job.digester.update(buf.subarray(0, bytesRead));
        job.pos += bytesRead;
      }
    } finally {
      await fh.close();
    }
    job.running = false;
    if (job.cancelled) return;
    if (job.pos < job.avail) return void pump(id, job);
    if (job.ending) {
      jobs.delete(id);
      port?.postMessage({ id, digest: job.digester.digest() } satisfies FromHashWorker);
    }
  } catch (e) {
    jobs.delete(id);
    port?.postMessage({ id, error: e instanceof Error ? e.message : String(e) } satisfies FromHashWorker);
  }
}

port?.on('message', (m: ToHashWorker) => {
  if (m.op === 'open') {
    jobs.set(m.id, { file: m.file, digester: createDigester(m.spec), pos: 0, avail: 0, ending: false, running: false, cancelled: false });
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.op === 'cancel') {
    job.cancelled = true;
    jobs.delete(m.id);
    return;
  }
  if (m.op === 'avail') job.avail = Math.max(job.avail, m.upTo);
  if (m.op === 'end') job.ending = true;
  void pump(m.id, job);
});

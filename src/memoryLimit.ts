/**
 * The memory this process may use: the cgroup's limit (v2 memory.max, v1 memory.limit_in_bytes;
 * SageMaker Serverless and `docker run -m` set one) or the machine's memory (a SageMaker instance's),
 * whichever is lower. The engine's memory layout (engine/memoryLayout.ts) reads it.
 */
import fs from 'node:fs';
import os from 'node:os';

/** A cgroup limit file's content in bytes; undefined for `max` or v1's "no limit" (a huge number). */
export function parseCgroupLimit(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n > 0 && n < 2 ** 60 ? n : undefined;
}

const CGROUP_FILES = ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'];

export interface MemoryLimit {
  readonly bytes: number;
  readonly from: string;
}

export function detectMemoryLimit(files: readonly string[] = CGROUP_FILES, totalBytes = os.totalmem()): MemoryLimit {
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const limit = parseCgroupLimit(text);
    if (limit !== undefined && limit < totalBytes) return { bytes: limit, from: f };
  }
  return { bytes: totalBytes, from: 'machine memory' };
}

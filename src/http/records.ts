/**
 * The records of a multi-record body (JSON Lines, MultiRecord, CSV rows), split and run within
 * the request's budgets:
 * - splitting yields between slices and stops at MAX_RECORDS (413) before any record is handled;
 * - records run a few at a time, with the pairs they hold at once bounded by the server's own
 *   MAX_CONCURRENT_REQUESTS, so a long file of small records is paced by this request itself
 *   instead of being refused with 429 for the capacity it takes from itself.
 */
import { tooManyRecords } from './bodyReader';
import type { Slicer } from './slices';

/** Records handled at once: enough to fill batches of small records, few enough to stay fair. */
const MAX_PARALLEL = 64;

/**
 * Lines of a body: split at \n, \r\n or a lone \r (old Mac files); trailing blank lines are not
 * records, a blank line inside is (it gets an error line, keeping one output line per input line).
 */
export async function splitRecords(text: string, maxRecords: number, slicer: Slicer): Promise<string[]> {
  const lines: string[] = [];
  const re = /\r\n|\n|\r/g;
  let start = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    lines.push(text.slice(start, m.index));
    start = m.index + m[0].length;
    if (lines.length > maxRecords) throw tooManyRecords(maxRecords);
    if ((lines.length & 1023) === 0) await slicer.tick();
  }
  lines.push(text.slice(start));
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length > maxRecords) throw tooManyRecords(maxRecords);
  return lines;
}

/** Pairs a parsed record asks for (its texts, documents or inputs), to pace the records in flight. */
export function pairsOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 1;
  const v = value as Record<string, unknown>;
  for (const k of ['texts', 'documents', 'inputs']) if (Array.isArray(v[k])) return Math.max(1, (v[k] as unknown[]).length);
  return 1;
}

/**
 * Runs `run(i)` for every record i, in parallel while the pairs held stay within `capacity` (one
 * record always runs, whatever its size: its own limits then answer it). `prepare(i)` runs first,
 * on the main thread in slices, and says how many pairs record i will hold.
 */
export async function runRecords<T>(count: number, prepare: (i: number) => number, run: (i: number) => Promise<T>, capacity: number, slicer: Slicer): Promise<T[]> {
  const out = new Array<T>(count);
  let held = 0;
  let running = 0;
  let failure: { e: unknown } | undefined;
  let wake: (() => void) | undefined;
  const settled = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  for (let i = 0; i < count && !failure; i++) {
    const weight = Math.max(1, prepare(i));
    while (running > 0 && (held + weight > capacity || running >= MAX_PARALLEL) && !failure) {
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (failure) break;
    held += weight;
    running++;
    run(i).then(
      (v) => (out[i] = v),
      (e: unknown) => (failure ??= { e }),
    ).finally(() => {
      held -= weight;
      running--;
      settled();
    });
    await slicer.tick();
  }
  while (running > 0) await new Promise<void>((resolve) => (wake = resolve));
  if (failure) throw failure.e;
  return out;
}

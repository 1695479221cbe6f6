/**
 * Reads the fixed set of real (query, documents) groups the fidelity report scores: JSON Lines
 * with `query` and either `documents` or `positives` + `negatives` (the MS MARCO / TREC DL sample
 * in ../shared/data has the latter).
 */
import fsp from 'node:fs/promises';
import { AppError } from '../errors';

export interface PairGroup {
  readonly query: string;
  readonly documents: readonly string[];
}

/** The sample the project measures on, relative to the repository root (never copied into it). */
export const DEFAULT_PAIRS_FILE = '../shared/data/msmarco-trec-dl19-sample.jsonl';

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export async function readPairGroups(file: string): Promise<PairGroup[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    throw new AppError('Config', `fidelity pairs file ${file} cannot be read (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  const groups: PairGroup[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new AppError('Config', `${file} line ${i + 1} is not JSON`);
    }
    const documents = [...strings(row.documents), ...strings(row.positives), ...strings(row.negatives)];
    if (typeof row.query !== 'string' || documents.length === 0) {
      throw new AppError('Config', `${file} line ${i + 1} needs "query" and "documents" (or "positives"/"negatives")`);
    }
    groups.push({ query: row.query, documents });
  }
  if (groups.length === 0) throw new AppError('Config', `${file} holds no query groups`);
  return groups;
}

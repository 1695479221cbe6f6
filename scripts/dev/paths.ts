/**
 * scripts/dev/ holds what tests and benchmarks share (this file, models.ts, tokenizer.ts,
 * workload.ts): bench/ never imports test/ and test/ never imports bench/ (test/unit/importGraph.test.ts).
 *
 * Where tests and benchmarks find things: the repository root, the built CLI, and the fixtures that
 * came from other public repositories. Those are never committed here: they live in `../shared/`
 * beside the clone (CI lays it there too), and every test and benchmark reads them through
 * `sharedFixture` / `sharedData`, which fail with one line naming the folder they looked for.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The repository root, found from either scripts/dev/ (tsx) or dist/scripts/dev/ (compiled). */
export const ROOT = ((): string => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'Makefile'))) return dir;
  }
  throw new Error('repository root not found');
})();

export const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');

let shared: string | undefined;

/**
 * `../shared` beside the clone. A git worktree checked out one level deeper (e.g. wt/NAME beside
 * the main clone) finds the same folder beside an ancestor, so the nearest one upwards wins.
 */
export function sharedDir(): string {
  if (shared) return shared;
  for (let dir = path.dirname(ROOT); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'shared');
    if (fs.existsSync(path.join(candidate, 'fixtures'))) return (shared = candidate);
    if (dir === path.dirname(dir)) break;
  }
  const err = new Error(`fixtures from other public repositories are missing: expected ${path.join(path.dirname(ROOT), 'shared', 'fixtures')} beside the clone (README, "Development")`);
  err.stack = err.message; // one line, not a stack trace into this helper
  throw err;
}

function inShared(kind: 'fixtures' | 'data', parts: string[]): string {
  const p = path.join(sharedDir(), kind, ...parts);
  if (!fs.existsSync(p)) {
    const err = new Error(`shared ${kind} file missing: ${p}`);
    err.stack = err.message;
    throw err;
  }
  return p;
}

/** A path under ../shared/fixtures (real model files: hf-configs/, onnx/, llm-rerankers/). */
export const sharedFixture = (...parts: string[]): string => inShared('fixtures', parts);
/** A path under ../shared/data (real text for benchmarks and reports). */
export const sharedData = (...parts: string[]): string => inShared('data', parts);

/** bert-base-uncased's tokenizer files, as shipped with cross-encoder/ms-marco-MiniLM-L-6-v2. */
export const bertTokenizerDir = (): string => sharedFixture('hf-configs', 'cross-encoder__ms-marco-MiniLM-L-6-v2');

/** ../shared beside the clone (or beside an ancestor of a worktree): see sharedDir(). */
export const SHARED_DIR = ((): string => { try { return sharedDir(); } catch { return path.join(ROOT, '..', 'shared'); } })();

/** 43 TREC DL 2019 queries with judged MS MARCO passages (../shared/data). */
export const MSMARCO_SAMPLE = path.join(SHARED_DIR, 'data', 'msmarco-trec-dl19-sample.jsonl');

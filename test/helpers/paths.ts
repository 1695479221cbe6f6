import fs from 'node:fs';
import path from 'node:path';

/** The repository root, found from either test/ (tsx) or dist/test/ (compiled). */
export const ROOT = ((): string => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'Makefile'))) return dir;
  }
  throw new Error('repository root not found');
})();

export const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const SHARED_TOKENIZER_DIR = path.join(ROOT, 'scripts', 'assets', 'bert-base-uncased');

/**
 * ../shared beside the clone (fixtures from other public repositories, never committed here). A git
 * worktree sits elsewhere: then the main clone's sibling, found through the common .git directory.
 */
export const SHARED_DIR = ((): string => {
  const beside = path.join(ROOT, '..', 'shared');
  if (fs.existsSync(beside)) return beside;
  const gitFile = path.join(ROOT, '.git');
  if (fs.existsSync(gitFile) && fs.statSync(gitFile).isFile()) {
    // "gitdir: /clone/.git/worktrees/NAME"
    const m = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(gitFile, 'utf8'));
    if (m) {
      const common = path.resolve(ROOT, m[1]!.trim(), '..', '..');
      const main = path.join(path.dirname(common), '..', 'shared');
      if (fs.existsSync(main)) return path.resolve(main);
    }
  }
  return beside;
})();

export const MSMARCO_SAMPLE = path.join(SHARED_DIR, 'data', 'msmarco-trec-dl19-sample.jsonl');

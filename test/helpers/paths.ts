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

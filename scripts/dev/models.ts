/**
 * Generated models for tests, built once per checkout into .cache/test-models/ (deterministic, so
 * a cached folder is the same bytes a fresh generation would give) and reused across test files.
 * Random-weight BERTs get the real bert-base-uncased tokenizer from ../shared (token counts as with
 * a real checkpoint); the demo keeps the project's own tokenizer, exactly as `make serve` builds it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { generateModel, GENERATOR_VERSION, type GenerateModelOptions } from '../gen-model';
import { bertTokenizerDir, ROOT } from './paths';

const CACHE = path.join(ROOT, '.cache', 'test-models');

export async function ensureModel(options: Omit<GenerateModelOptions, 'out'>): Promise<string> {
  const opts = options.preset === 'demo' || options.tokenizerDir !== undefined ? options : { ...options, tokenizerDir: bertTokenizerDir() };
  const key = createHash('sha256').update(JSON.stringify({ v: GENERATOR_VERSION, ...opts })).digest('hex').slice(0, 16);
  const dir = path.join(CACHE, `${opts.preset ?? 'tiny'}-${key}`);
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  await generateModel({ ...opts, out: tmp });
  fs.writeFileSync(path.join(tmp, '.complete'), '');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.renameSync(tmp, dir);
  return dir;
}

/** A throwaway copy of a folder (tests that add or remove files). */
export function copyToTemp(src: string, prefix = 'reranker-test-'): string {
  const dst = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.cpSync(src, dst, { recursive: true });
  for (const f of fs.readdirSync(dst, { recursive: true }) as string[]) fs.chmodSync(path.join(dst, f), 0o755);
  return dst;
}

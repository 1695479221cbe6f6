/**
 * The files only decoder LLM rerankers bring, read from the model folder next to readModelFiles'
 * usual set: the sentence-transformers score module's config (LogitScore / CausalScoreHead with
 * true_token_id and false_token_id) and the *.jinja templates at the top level.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { getString, isRecord } from './jsonFields';
import type { DecoderFiles } from './yesNoTypes';

const SCORE_MODULE = /(^|\.)(LogitScore|CausalScoreHead)$/;
/** A template over this size is not a prompt template. */
const MAX_TEMPLATE_BYTES = 256 * 1024;

export async function readDecoderFiles(dir: string, listing: readonly string[], modules: readonly unknown[] | undefined): Promise<DecoderFiles> {
  let scoreModule: DecoderFiles['scoreModule'];
  for (const m of modules ?? []) {
    const type = isRecord(m) ? getString(m, 'type') : undefined;
    if (!type || !SCORE_MODULE.test(type)) continue;
    const rel = (isRecord(m) ? getString(m, 'path') : undefined) ?? '';
    let config: Record<string, unknown> | undefined;
    try {
      const parsed = JSON.parse(await fsp.readFile(path.join(dir, rel, 'config.json'), 'utf8')) as unknown;
      if (isRecord(parsed)) config = parsed;
    } catch {
      config = undefined; // the spec says which file is missing
    }
    scoreModule = { type, path: rel, ...(config ? { config } : {}) };
    break;
  }
  const jinja: Array<{ file: string; text: string }> = [];
  for (const file of listing.filter((n) => n.endsWith('.jinja') && !n.includes('/'))) {
    const st = await fsp.stat(path.join(dir, file));
    if (st.size <= MAX_TEMPLATE_BYTES) jinja.push({ file, text: await fsp.readFile(path.join(dir, file), 'utf8') });
  }
  return { ...(scoreModule ? { scoreModule } : {}), jinja };
}

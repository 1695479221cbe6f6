/**
 * How special tokens wrap a (query, document) pair, decided with the rest of the spec: read from
 * tokenizer.json's post_processor (tokenize/pairTemplate.ts mirrors the Rust processors), with a
 * warning when it is a fallback. The tokenizer workers are handed this decision rather than making
 * their own, so what `inspect` and /info show is what the server does.
 */
import { isAppError } from '../errors';
import { readPairTemplate, type PairTemplate } from '../tokenize/pairTemplate';
import { tokenId } from './decideTokens';
import type { Notes } from './notes';
import type { ModelFiles } from './types';

export type TemplateDecision = { readonly ok: true; readonly template?: PairTemplate } | { readonly ok: false; readonly reason: string };

export function decideTemplate(files: ModelFiles, notes: Notes): TemplateDecision {
  const json = files.tokenizerJson;
  if (!json) return { ok: true };
  const where = files.paths?.tokenizerJson ?? 'tokenizer.json';
  let template: PairTemplate;
  try {
    template = readPairTemplate(json, files.tokenizerConfig, (t) => tokenId(json, t));
  } catch (e) {
    if (isAppError(e)) return { ok: false, reason: `${where}: ${e.message}` };
    throw e;
  }
  notes.decide('pairTemplate', describe(template), template.source.replace(/^tokenizer\.json/, where));
  if (template.warning !== undefined) notes.warn(template.warning);
  return { ok: true, template };
}

/** `[101] A [102] B [102]` with the type id of B: compact enough for an evidence line. */
function describe(t: PairTemplate): string {
  return t.pair
    .map((p) => (p.kind === 'special' ? `[${p.ids.join(',')}]` : `${p.seq === 0 ? 'A' : 'B'}:${p.typeId}`))
    .join(' ');
}

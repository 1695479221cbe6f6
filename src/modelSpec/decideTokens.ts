/**
 * Pad token id and padding / truncation sides. The tokenizer files are preferred over config.json
 * because the tokenizer produces the ids the model sees; config.pad_token_id is the fallback (the
 * DistilBERT export ships no tokenizer) and is compared for a warning.
 */
import { getInt, getRecord, getString, getTokenContent, isRecord, type Json } from './jsonFields';
import type { Notes } from './notes';
import type { ModelFiles } from './types';

export interface TokenDecision {
  readonly padTokenId: number;
  readonly paddingSide: 'right' | 'left';
  readonly truncationSide: 'right' | 'left';
}

export function decideTokens(files: ModelFiles, notes: Notes): TokenDecision {
  const padTokenId = decidePadId(files, notes);
  const paddingSide = decideSide(files, notes, 'paddingSide', 'padding_side', 'padding');
  const truncationSide = decideSide(files, notes, 'truncationSide', 'truncation_side', 'truncation');
  return { padTokenId, paddingSide, truncationSide };
}

function decidePadId(files: ModelFiles, notes: Notes): number {
  const configPad = getInt(files.config, 'pad_token_id');
  const padding = getRecord(files.tokenizerJson, 'padding');
  let found: { id: number; source: string } | undefined;
  const padId = getInt(padding, 'pad_id');
  if (padId !== undefined) found = { id: padId, source: 'tokenizer.json:padding.pad_id' };
  if (!found) {
    const named = padTokenName(files);
    const id = named ? tokenId(files.tokenizerJson, named.token) : undefined;
    if (named && id !== undefined) found = { id, source: `${named.source} '${named.token}' -> tokenizer.json id` };
  }
  if (!found && configPad !== undefined) found = { id: configPad, source: 'config.json:pad_token_id' };
  if (!found) {
    notes.warn('no pad token found in tokenizer.json, tokenizer_config.json or config.json; padding with id 0');
    found = { id: 0, source: 'default 0' };
  }
  if (configPad !== undefined && configPad !== found.id) {
    notes.warn(`config.json pad_token_id ${configPad} differs from ${found.source} (${found.id}); using ${found.id}`);
  }
  notes.decide('padTokenId', found.id, found.source);
  return found.id;
}

function padTokenName(files: ModelFiles): { token: string; source: string } | undefined {
  const fromConfig = getTokenContent(files.tokenizerConfig, 'pad_token');
  if (fromConfig) return { token: fromConfig, source: 'tokenizer_config.json:pad_token' };
  const fromMap = getTokenContent(files.specialTokensMap, 'pad_token');
  if (fromMap) return { token: fromMap, source: 'special_tokens_map.json:pad_token' };
  const fromPadding = getString(getRecord(files.tokenizerJson, 'padding'), 'pad_token');
  if (fromPadding) return { token: fromPadding, source: 'tokenizer.json:padding.pad_token' };
  return undefined;
}

/** The id of a token: added_tokens first, then the model vocab (a map, or Unigram's [piece, score] list). */
export function tokenId(tokenizerJson: Json | undefined, token: string): number | undefined {
  const added = tokenizerJson?.added_tokens;
  if (Array.isArray(added)) {
    for (const t of added) {
      if (isRecord(t) && t.content === token && typeof t.id === 'number') return t.id;
    }
  }
  const vocab = getRecord(tokenizerJson, 'model')?.vocab;
  if (isRecord(vocab)) {
    const id = vocab[token];
    return typeof id === 'number' ? id : undefined;
  }
  if (Array.isArray(vocab)) {
    const i = vocab.findIndex((e) => Array.isArray(e) && e[0] === token);
    return i >= 0 ? i : undefined;
  }
  return undefined;
}

/** tokenizer_config.json `<key>` ('left'/'right') wins over tokenizer.json `<section>.direction` ('Left'/'Right'). */
function decideSide(
  files: ModelFiles,
  notes: Notes,
  field: string,
  configKey: string,
  section: string,
): 'right' | 'left' {
  const fromConfig = getString(files.tokenizerConfig, configKey);
  if (fromConfig === 'left' || fromConfig === 'right') {
    notes.decide(field, fromConfig, `tokenizer_config.json:${configKey}`);
    return fromConfig;
  }
  const direction = getString(getRecord(files.tokenizerJson, section), 'direction')?.toLowerCase();
  if (direction === 'left' || direction === 'right') {
    notes.decide(field, direction, `tokenizer.json:${section}.direction`);
    return direction;
  }
  notes.decide(field, 'right', 'default right');
  return 'right';
}

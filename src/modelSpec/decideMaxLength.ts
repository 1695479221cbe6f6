/**
 * The longest input (special tokens included) the model takes: the minimum of what the files say.
 *
 * Candidates: tokenizer_config model_max_length (sentinels like 1e30 or 2^31 mean "unset"),
 * sentence_bert_config max_seq_length, config.json max_position_embeddings, and the graph's
 * position table rows. A learned absolute table is a hard limit (past it ONNX Runtime fails in
 * Gather); RoBERTa-style families spend pad_token_id + 1 rows before the first position (514 -> 512).
 * ALiBi, rotary and relative models have no table: max_position_embeddings is only a soft hint,
 * which is why a JinaBert model with 8192 gets 8192 and is not held to 512.
 *
 * MAX_INPUT_LENGTH wins, with a warning when it passes a hard limit.
 */
import { getInt, type Json } from './jsonFields';
import type { FamilyDecision } from './decideFamily';
import { onnxSource, type Notes } from './notes';
import type { ModelFiles } from './types';

export const DEFAULT_MAX_INPUT_LENGTH = 512;
/** Above this a model_max_length is a "no limit" sentinel (transformers writes 1e30, some 2^31). */
const SENTINEL_ABOVE = 1_000_000;

interface Candidate {
  readonly value: number;
  readonly source: string;
  /** A learned position table: going past it fails, it does not just degrade. */
  readonly hard: boolean;
}

export function decideMaxLength(
  files: ModelFiles,
  family: FamilyDecision,
  padTokenId: number,
  override: number | undefined,
  notes: Notes,
): number {
  const candidates = collect(files, family, padTokenId);
  const hard = candidates.filter((c) => c.hard);
  const hardMin = hard.length ? Math.min(...hard.map((c) => c.value)) : undefined;
  const hardSource = hard.find((c) => c.value === hardMin)?.source;

  if (override !== undefined) {
    notes.decide('maxInputLength', override, 'override:MAX_INPUT_LENGTH');
    if (hardMin !== undefined && override > hardMin) {
      notes.warn(`MAX_INPUT_LENGTH=${override} exceeds the position table (${hardSource}: ${hardMin}); inputs past ${hardMin} tokens will fail in the model`);
    }
    return override;
  }
  if (candidates.length === 0) {
    notes.decide('maxInputLength', DEFAULT_MAX_INPUT_LENGTH, `default ${DEFAULT_MAX_INPUT_LENGTH}`);
    notes.warn(`no file states a maximum input length; assuming ${DEFAULT_MAX_INPUT_LENGTH} (set MAX_INPUT_LENGTH to change it)`);
    return DEFAULT_MAX_INPUT_LENGTH;
  }
  const min = Math.min(...candidates.map((c) => c.value));
  const deciders = candidates.filter((c) => c.value === min).map((c) => c.source);
  notes.decide('maxInputLength', min, deciders.join(' = '));
  if (hardMin !== undefined) {
    for (const c of candidates) {
      if (!c.hard && c.value > hardMin) notes.warn(`${c.source} (${c.value}) is larger than the position table (${hardSource}: ${hardMin}); using ${min}`);
    }
    const tables = new Set(hard.map((c) => c.value));
    if (tables.size > 1) notes.warn(`position limits disagree: ${hard.map((c) => `${c.source}: ${c.value}`).join('; ')}; using ${min}`);
  }
  return min;
}

function collect(files: ModelFiles, family: FamilyDecision, padTokenId: number): Candidate[] {
  const out: Candidate[] = [];
  const sane = (v: number | undefined): v is number => v !== undefined && v > 0 && v <= SENTINEL_ABOVE;

  const mml = getInt(files.tokenizerConfig, 'model_max_length');
  if (sane(mml)) out.push({ value: mml, source: 'tokenizer_config.json:model_max_length', hard: false });
  const msl = getInt(files.sentenceBertConfig, 'max_seq_length');
  if (sane(msl)) out.push({ value: msl, source: 'sentence_bert_config.json:max_seq_length', hard: false });
  // Some remote-code configs (JinaBert) store the tokenizer's limit in config.json too.
  const cml = getInt(files.config, 'model_max_length');
  if (sane(cml)) out.push({ value: cml, source: 'config.json:model_max_length', hard: false });

  const offset = family.robertaPositions ? positionOffset(files.config, padTokenId) : 0;
  const learned = family.positionEmbedding === 'absolute';
  const minus = offset ? ` - ${offset} (positions start at pad_token_id + 1)` : '';
  const mpe = getInt(files.config, 'max_position_embeddings');
  if (sane(mpe) && mpe - offset > 0) {
    const soft = learned ? '' : ` (${family.positionEmbedding} positions: a soft hint)`;
    out.push({ value: mpe - offset, source: `config.json:max_position_embeddings ${mpe}${minus}${soft}`, hard: learned });
  }
  const rows = files.graph?.positionTableRows;
  if (rows !== undefined && rows - offset > 0) {
    const name = files.graph?.positionTableName ?? 'position table';
    out.push({ value: rows - offset, source: `${onnxSource(files.onnxFile)} ${name} ${rows} rows${minus}`, hard: true });
  }
  return out;
}

/** RoBERTa's padding_idx is config.pad_token_id; without a config, the tokenizer's pad id. */
function positionOffset(config: Json | undefined, padTokenId: number): number {
  return (getInt(config, 'pad_token_id') ?? padTokenId) + 1;
}

/**
 * The model family and how it encodes positions, because both change what the model accepts:
 * RoBERTa-style models start positions at pad_token_id + 1 (514 rows hold 512 tokens), ALiBi
 * models (JinaBert) have no position table at all.
 *
 * From config.json when there is one (JinaBert first: it says model_type 'bert' but is recognized
 * by position_embedding_type 'alibi' or a Jina auto_map / architecture), then model_type, then the
 * architecture's prefix. Without config.json the family is inferred from tokenizer_config's
 * tokenizer_class, the tokenizer.json pair template, or the graph's weight names, and says so.
 */
import { getRecord, getString, getStringArray, type Json } from './jsonFields';
import type { Notes } from './notes';
import type { ModelFiles, ModelSpec } from './types';

export type PositionEmbedding = ModelSpec['positionEmbedding'];

export interface FamilyDecision {
  readonly family: string;
  readonly positionEmbedding: PositionEmbedding;
  /** Positions start at pad_token_id + 1 (RoBERTa's create_position_ids_from_input_ids). */
  readonly robertaPositions: boolean;
}

/** Families whose position ids are offset by padding_idx + 1. */
const ROBERTA_STYLE = new Set(['roberta', 'xlm-roberta', 'xlm-roberta-xl', 'camembert', 'mpnet', 'longformer', 'bge-m3']);
const ROTARY = new Set(['modernbert', 'new', 'nomic_bert', 'qwen2', 'qwen3', 'llama', 'mistral', 'gemma', 'roformer']);
const RELATIVE = new Set(['deberta', 'deberta-v2']);

const ARCH_PREFIXES: ReadonlyArray<[RegExp, string]> = [
  [/^JinaBert/, 'jina-bert'],
  [/^XLMRobertaXL/, 'xlm-roberta-xl'],
  [/^XLMRoberta/, 'xlm-roberta'],
  [/^Roberta/, 'roberta'],
  [/^Camembert/, 'camembert'],
  [/^DistilBert/, 'distilbert'],
  [/^DebertaV2/, 'deberta-v2'],
  [/^Deberta/, 'deberta'],
  [/^ModernBert/, 'modernbert'],
  [/^Electra/, 'electra'],
  [/^Albert/, 'albert'],
  [/^MPNet/, 'mpnet'],
  [/^Bert/, 'bert'],
  [/^Qwen3/, 'qwen3'],
];

const TOKENIZER_CLASSES: ReadonlyArray<[RegExp, string]> = [
  [/^XLMRobertaTokenizer/, 'xlm-roberta'],
  [/^RobertaTokenizer/, 'roberta'],
  [/^CamembertTokenizer/, 'camembert'],
  [/^DistilBertTokenizer/, 'distilbert'],
  [/^DebertaV2Tokenizer/, 'deberta-v2'],
  [/^ElectraTokenizer/, 'electra'],
  [/^MPNetTokenizer/, 'mpnet'],
  [/^BertTokenizer/, 'bert'],
];

export function decideFamily(files: ModelFiles, notes: Notes): FamilyDecision {
  const found = files.config ? fromConfig(files.config) : inferWithoutConfig(files);
  const family = found?.family ?? 'unknown';
  notes.decide('family', family, found?.source ?? 'nothing names it (no config.json, no recognizable tokenizer)');
  if (!found) notes.warn('model family unknown: no config.json and nothing in the tokenizer files names it');
  const positionEmbedding = positionKind(family, files.config, files.graph?.positionTableRows !== undefined);
  notes.decide('positionEmbedding', positionEmbedding, positionSource(family, files.config));
  return { family, positionEmbedding, robertaPositions: ROBERTA_STYLE.has(family) };
}

function fromConfig(config: Json): { family: string; source: string } | undefined {
  const arch = getStringArray(config, 'architectures')?.[0] ?? '';
  const autoMap = Object.values(getRecord(config, 'auto_map') ?? {}).filter((v) => typeof v === 'string').join(' ');
  if (getString(config, 'position_embedding_type') === 'alibi') {
    return { family: 'jina-bert', source: 'config.json:position_embedding_type alibi' };
  }
  if (/^JinaBert/.test(arch)) return { family: 'jina-bert', source: 'config.json:architectures' };
  // 'JinaBert' exactly: jina-reranker-v2's auto_map names a Jina XLM-RoBERTa ('roberta' contains 'bert').
  if (/JinaBert/.test(autoMap)) return { family: 'jina-bert', source: 'config.json:auto_map' };
  const modelType = getString(config, 'model_type');
  if (modelType) return { family: modelType.toLowerCase(), source: 'config.json:model_type' };
  for (const [re, family] of ARCH_PREFIXES) if (re.test(arch)) return { family, source: 'config.json:architectures' };
  return undefined;
}

function inferWithoutConfig(files: ModelFiles): { family: string; source: string } | undefined {
  const cls = getString(files.tokenizerConfig, 'tokenizer_class');
  if (cls) {
    for (const [re, family] of TOKENIZER_CLASSES) {
      if (re.test(cls)) return { family, source: `inferred (no config.json): tokenizer_config.json:tokenizer_class ${cls}` };
    }
  }
  const style = pairTemplateStyle(files.tokenizerJson);
  const modelType = getString(getRecord(files.tokenizerJson, 'model'), 'type');
  if (style === 'roberta') {
    // Both use <s> A </s></s> B </s>; XLM-R ships a SentencePiece (Unigram) model, RoBERTa byte-level BPE.
    const family = modelType === 'Unigram' ? 'xlm-roberta' : 'roberta';
    return { family, source: `inferred (no config.json): tokenizer.json post_processor pair template <s> A </s></s> B </s> with a ${modelType ?? 'unknown'} model` };
  }
  if (style === 'bert') {
    return { family: 'bert', source: 'inferred (no config.json): tokenizer.json post_processor pair template [CLS] A [SEP] B [SEP]' };
  }
  const table = files.graph?.positionTableName;
  const prefix = table?.split('.')[0];
  const byPrefix: Record<string, string> = { roberta: 'roberta', bert: 'bert', distilbert: 'distilbert', electra: 'electra', deberta: 'deberta-v2' };
  const family = prefix !== undefined ? byPrefix[prefix] : undefined;
  if (family) return { family, source: `inferred (no config.json): graph weight name ${table}` };
  return undefined;
}

/** 'roberta' for <s> A </s></s> B </s> (two separators between the texts), 'bert' for one. */
function pairTemplateStyle(tokenizerJson: Json | undefined): 'roberta' | 'bert' | undefined {
  const post = getRecord(tokenizerJson, 'post_processor');
  const type = getString(post, 'type');
  if (type === 'RobertaProcessing') return 'roberta';
  if (type === 'BertProcessing') return 'bert';
  if (type !== 'TemplateProcessing') return undefined;
  const pair = post?.pair;
  if (!Array.isArray(pair)) return undefined;
  const kinds = pair.map((p: unknown) => (p && typeof p === 'object' && 'Sequence' in p ? 'seq' : 'special'));
  const a = kinds.indexOf('seq');
  const b = kinds.indexOf('seq', a + 1);
  if (a < 0 || b < 0) return undefined;
  const between = b - a - 1;
  return between === 2 ? 'roberta' : between === 1 ? 'bert' : undefined;
}

function positionKind(family: string, config: Json | undefined, hasTable: boolean): PositionEmbedding {
  const pet = getString(config, 'position_embedding_type');
  if (family === 'jina-bert' || pet === 'alibi') return 'alibi';
  if (pet === 'relative_key' || pet === 'relative_key_query') return 'relative';
  if (ROTARY.has(family) || pet === 'rotary' || pet === 'rope') return 'rotary';
  if (RELATIVE.has(family)) return config?.position_biased_input === true ? 'absolute' : 'relative';
  if (family !== 'unknown' || hasTable) return 'absolute';
  return 'unknown';
}

function positionSource(family: string, config: Json | undefined): string {
  if (getString(config, 'position_embedding_type') !== undefined) return 'config.json:position_embedding_type';
  return `family ${family}`;
}

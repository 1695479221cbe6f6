/**
 * What the config files say about the model's head: the first `architectures` entry, the labels,
 * whether auto_map offers a sequence-classification class, and sentence-transformers metadata
 * (a Pooling module means an embedding model; CrossEncoder metadata means a cross-encoder).
 * Facts only; decideTask weighs them against the graph.
 */
import { getInt, getRecord, getString, getStringArray, isRecord } from './jsonFields';
import type { ModelFiles } from './types';

export type HeadKind =
  | 'sequence-classification'
  | 'token-classification'
  | 'causal-lm'
  | 'question-answering'
  | 'multiple-choice'
  | 'base-or-masked-lm'
  | 'unknown'
  | 'none';

export interface ConfigHead {
  readonly kind: HeadKind;
  readonly architecture?: string;
  /** Label names by index when config.json states them (id2label, else num_labels). */
  readonly labels?: readonly string[];
  readonly labelsSource?: string;
  /** auto_map names an AutoModelForSequenceClassification class (remote-code models like JinaBert). */
  readonly autoMapSequenceClassification?: string;
  /** Where a sentence-transformers Pooling module was seen, if anywhere. */
  readonly pooling?: string;
  /** Where CrossEncoder metadata was seen, if anywhere. */
  readonly crossEncoderMeta?: string;
  /** `_name_or_path`: a hint for messages, never a decision (any re-save rewrites it). */
  readonly nameHint?: string;
}

const HEAD_PATTERNS: ReadonlyArray<[RegExp, HeadKind]> = [
  [/ForSequenceClassification$/, 'sequence-classification'],
  [/ForTokenClassification$/, 'token-classification'],
  [/(ForCausalLM|LMHeadModel|ForConditionalGeneration)$/, 'causal-lm'],
  [/ForQuestionAnswering$/, 'question-answering'],
  [/ForMultipleChoice$/, 'multiple-choice'],
  [/(ForMaskedLM|ForPreTraining|Model|ForTextEmbedding|ForSentenceEmbedding)$/, 'base-or-masked-lm'],
];

export function readConfigHead(files: ModelFiles): ConfigHead {
  const config = files.config;
  const architecture = getStringArray(config, 'architectures')?.[0];
  let kind: HeadKind = architecture === undefined ? 'none' : 'unknown';
  if (architecture !== undefined) {
    for (const [re, k] of HEAD_PATTERNS) {
      if (re.test(architecture)) {
        kind = k;
        break;
      }
    }
  }
  const nameHint = getString(config, '_name_or_path');
  const autoMap = getRecord(config, 'auto_map');
  const autoSeq = autoMap ? getString(autoMap, 'AutoModelForSequenceClassification') : undefined;
  const pooling = findPooling(files);
  const crossEncoderMeta = findCrossEncoderMeta(files);
  return {
    kind,
    ...(architecture !== undefined ? { architecture } : {}),
    ...readLabels(config),
    ...(autoSeq !== undefined ? { autoMapSequenceClassification: autoSeq } : {}),
    ...(pooling !== undefined ? { pooling } : {}),
    ...(crossEncoderMeta !== undefined ? { crossEncoderMeta } : {}),
    ...(nameHint ? { nameHint } : {}),
  };
}

/**
 * id2label when present (keys are stringified indices), else num_labels with transformers' default
 * names. Absent both, transformers assumes 2 labels; that default is applied by decideTask, since
 * it only holds for a sequence-classification head.
 */
function readLabels(config: Record<string, unknown> | undefined): { labels?: string[]; labelsSource?: string } {
  const id2label = getRecord(config, 'id2label');
  if (id2label) {
    const entries = Object.entries(id2label)
      .map(([k, v]) => [Number(k), typeof v === 'string' ? v : String(v)] as const)
      .filter(([i]) => Number.isInteger(i) && i >= 0)
      .sort((a, b) => a[0] - b[0]);
    if (entries.length > 0) return { labels: entries.map(([, v]) => v), labelsSource: 'config.json:id2label' };
  }
  const n = getInt(config, 'num_labels');
  if (n !== undefined && n > 0) {
    return { labels: Array.from({ length: n }, (_, i) => `LABEL_${i}`), labelsSource: 'config.json:num_labels' };
  }
  return {};
}

function findPooling(files: ModelFiles): string | undefined {
  for (const m of files.modules ?? []) {
    const type = isRecord(m) ? getString(m, 'type') : undefined;
    if (type && /Pooling$/.test(type)) return `modules.json:${type}`;
  }
  const dir = files.listing.find((n) => /^\d+_Pooling\/$/.test(n));
  return dir !== undefined ? `folder ${dir}` : undefined;
}

/** Metadata that sentence-transformers writes only when it saves a CrossEncoder. */
function findCrossEncoderMeta(files: ModelFiles): string | undefined {
  if (getString(files.sentenceTransformersConfig, 'model_type') === 'CrossEncoder') {
    return 'config_sentence_transformers.json:model_type';
  }
  if (getString(files.config, 'sbert_ce_default_activation_function') !== undefined) {
    return 'config.json:sbert_ce_default_activation_function';
  }
  if (getString(getRecord(files.config, 'sentence_transformers'), 'activation_fn') !== undefined) {
    return 'config.json:sentence_transformers.activation_fn';
  }
  if (getString(files.sentenceBertConfig, 'transformer_task') === 'sequence-classification') {
    return 'sentence_bert_config.json:transformer_task';
  }
  return undefined;
}

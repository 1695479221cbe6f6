// Named model shapes for scripts/gen-model.ts. Sizes follow the public checkpoints they imitate.

export type PresetName = 'tiny' | 'minilm' | 'minilm-l2' | 'base' | 'demo';

export interface BertShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocabSize: number;
  maxPosition: number;
  typeVocabSize: number;
  numLabels: number;
  /** the _name_or_path written to config.json */
  nameOrPath: string;
}

const BERT_BASE_VOCAB = { vocabSize: 30522, maxPosition: 512, typeVocabSize: 2, numLabels: 1 } as const;

export const BERT_PRESETS: Record<Exclude<PresetName, 'demo'>, BertShape> = {
  // Fast enough to load and run in every model test.
  tiny: { ...BERT_BASE_VOCAB, layers: 2, hidden: 32, heads: 4, intermediate: 64, nameOrPath: 'sagemaker-reranker/random-bert-tiny' },
  // cross-encoder/ms-marco-MiniLM-L-6-v2's shape: realistic size and latency for benchmarks.
  minilm: { ...BERT_BASE_VOCAB, layers: 6, hidden: 384, heads: 12, intermediate: 1536, nameOrPath: 'sagemaker-reranker/random-minilm-l6-h384' },
  // cross-encoder/ms-marco-MiniLM-L-2-v2's shape.
  'minilm-l2': { ...BERT_BASE_VOCAB, layers: 2, hidden: 384, heads: 12, intermediate: 1536, nameOrPath: 'sagemaker-reranker/random-minilm-l2-h384' },
  // BERT-base's shape (12 x 768, about 420 MB of fp32): the "large model" of the int8 and memory benchmarks.
  base: { ...BERT_BASE_VOCAB, layers: 12, hidden: 768, heads: 12, intermediate: 3072, nameOrPath: 'sagemaker-reranker/random-bert-base' },
};

export const PRESET_NAMES: readonly PresetName[] = ['tiny', 'minilm', 'minilm-l2', 'base', 'demo'];

export function isPresetName(s: string): s is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(s);
}

// The non-ONNX half of a Hugging Face model folder: config.json and the tokenizer files.
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'] as const;

// What `save_pretrained` of a recent transformers release writes; spec code may read it.
const TRANSFORMERS_VERSION = '4.48.0';

/** The repository root: works from scripts/ (tsx) and from dist/scripts/ (compiled). */
export function projectRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'scripts', 'assets'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the project root (package.json + scripts/assets) above ${from}`);
    dir = up;
  }
}

export function tokenizerAssetsDir(): string {
  return join(projectRoot(), 'scripts', 'assets', 'bert-base-uncased');
}

export function readVocab(): string {
  return readFileSync(join(tokenizerAssetsDir(), 'vocab.txt'), 'utf8');
}

export function labelNames(labels: number | readonly string[]): string[] {
  if (typeof labels !== 'number') {
    if (labels.length === 0) throw new Error('label names must not be empty');
    if (new Set(labels).size !== labels.length) throw new Error(`label names must be unique: ${labels.join(',')}`);
    return [...labels];
  }
  if (!Number.isInteger(labels) || labels < 1) throw new Error(`labels must be a positive integer, got ${labels}`);
  return Array.from({ length: labels }, (_, i) => `LABEL_${i}`);
}

export interface BertConfigFields {
  nameOrPath: string;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  vocabSize: number;
  maxPosition: number;
  typeVocabSize: number;
  layerNormEps: number;
  labels: string[];
  /** extra top-level keys (e.g. the demo marker) */
  extra?: Record<string, unknown>;
}

/** config.json as BertForSequenceClassification.save_pretrained writes it (keys sorted). */
export function bertConfigJson(f: BertConfigFields): string {
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  f.labels.forEach((name, i) => {
    id2label[String(i)] = name;
    label2id[name] = i;
  });
  const config: Record<string, unknown> = {
    _name_or_path: f.nameOrPath,
    architectures: ['BertForSequenceClassification'],
    attention_probs_dropout_prob: 0.1,
    classifier_dropout: null,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: f.hidden,
    id2label,
    initializer_range: 0.02,
    intermediate_size: f.intermediate,
    label2id,
    layer_norm_eps: f.layerNormEps,
    max_position_embeddings: f.maxPosition,
    model_type: 'bert',
    num_attention_heads: f.heads,
    num_hidden_layers: f.layers,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    torch_dtype: 'float32',
    transformers_version: TRANSFORMERS_VERSION,
    type_vocab_size: f.typeVocabSize,
    use_cache: true,
    vocab_size: f.vocabSize,
    ...f.extra,
  };
  const sorted = Object.fromEntries(Object.keys(config).sort().map((k) => [k, config[k]]));
  return JSON.stringify(sorted, null, 2) + '\n';
}

/**
 * Copies the bert-base-uncased tokenizer files. A model with fewer positions than the tokenizer's
 * model_max_length gets a lowered limit, so the pair encoder never builds inputs the graph rejects.
 */
export async function writeTokenizerFiles(dir: string, maxPosition: number): Promise<void> {
  const src = tokenizerAssetsDir();
  for (const name of TOKENIZER_FILES) {
    if (name === 'tokenizer_config.json' && maxPosition < 512) {
      const text = readFileSync(join(src, name), 'utf8');
      const lowered = text.replace('"model_max_length": 512', `"model_max_length": ${maxPosition}`);
      if (lowered === text) throw new Error(`${name}: model_max_length 512 not found`);
      await writeFile(join(dir, name), lowered);
    } else {
      await copyFile(join(src, name), join(dir, name));
    }
  }
}

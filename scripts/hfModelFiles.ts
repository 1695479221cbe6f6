// The non-ONNX half of a Hugging Face model folder: config.json and the tokenizer files.
import { readFileSync } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseVocab } from './onnx/tokenWeights';
import { specialTokensMapJson, tokenizerConfigJson, tokenizerJson, wordpieceVocab } from './wordpieceTokenizer';

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'] as const;

// What `save_pretrained` of a recent transformers release writes; spec code may read it.
const TRANSFORMERS_VERSION = '4.48.0';

/**
 * The vocabulary (vocab.txt lines in id order): of a copied tokenizer folder when given, else the
 * project's own generated WordPiece vocabulary.
 */
export function readVocab(tokenizerDir?: string): string[] {
  return tokenizerDir === undefined ? wordpieceVocab() : parseVocab(readFileSync(join(tokenizerDir, 'vocab.txt'), 'utf8'));
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
 * Writes the tokenizer files: the project's own WordPiece tokenizer, or a copy of `from` (a folder
 * with a bert-base-uncased-style tokenizer; tests and benchmarks pass the real one from ../shared).
 * A model with fewer positions than the tokenizer's model_max_length gets a lowered limit, so the
 * pair encoder never builds inputs the graph rejects.
 */
export async function writeTokenizerFiles(dir: string, maxPosition: number, from?: string): Promise<void> {
  if (from === undefined) {
    const vocab = wordpieceVocab();
    await writeFile(join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
    await writeFile(join(dir, 'tokenizer.json'), tokenizerJson(vocab));
    await writeFile(join(dir, 'tokenizer_config.json'), tokenizerConfigJson(vocab, Math.min(512, maxPosition)));
    await writeFile(join(dir, 'special_tokens_map.json'), specialTokensMapJson());
    return;
  }
  for (const name of TOKENIZER_FILES) {
    if (name === 'tokenizer_config.json' && maxPosition < 512) {
      const text = readFileSync(join(from, name), 'utf8');
      const lowered = text.replace('"model_max_length": 512', `"model_max_length": ${maxPosition}`);
      if (lowered === text) throw new Error(`${name}: model_max_length 512 not found`);
      await writeFile(join(dir, name), lowered);
    } else {
      await copyFile(join(from, name), join(dir, name));
    }
  }
}

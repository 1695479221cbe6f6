import type { PromptTemplate } from '../tokenize/promptTemplates';
import type { DecoderFiles, DecoderInputs, YesNoSpec } from './yesNoTypes';

/**
 * The normalized description of a model: everything the tokenizer, the engine and the HTTP layer
 * need to know, decided once before the engine starts, with the evidence for each decision.
 */
import type { PairTemplate } from '../tokenize/pairTemplate';
import type { Variant, VariantChoice } from './variants';

export const TASKS = ['reranker', 'classifier'] as const;
export type Task = (typeof TASKS)[number];
export const ACTIVATIONS = ['sigmoid', 'softmax', 'identity', 'tanh'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** One tensor the ONNX graph declares. dims: numbers for fixed sizes, strings for symbolic ones. */
export interface GraphTensor {
  readonly name: string;
  /** ONNX element type name: 'int64', 'int32', 'float32', ... */
  readonly type: string;
  readonly dims: ReadonlyArray<number | string>;
}

/** What the ONNX protobuf itself says (read without starting a session). */
export interface OnnxGraphInfo {
  readonly inputs: readonly GraphTensor[];
  readonly outputs: readonly GraphTensor[];
  /** Rows of a position-embedding initializer when one is recognizable (e.g. 514 for RoBERTa). */
  readonly positionTableRows?: number;
  /** Name of the initializer positionTableRows was read from (evidence, family hints). */
  readonly positionTableName?: string;
  readonly producer?: string;
  readonly opsetVersion?: number;
}

/** One .onnx file found in the model folder (variants: model_quantized.onnx, onnx/int8/model.onnx, ...). */
export interface OnnxFileEntry {
  /** Relative POSIX path inside the model folder. */
  readonly path: string;
  readonly bytes: number;
}

/** Keys of ModelFiles that hold a parsed JSON file, and the relative path each was read from. */
export type ModelJsonKey = 'config' | 'tokenizerJson' | 'tokenizerConfig' | 'specialTokensMap' | 'sentenceTransformersConfig' | 'sentenceBertConfig' | 'modules';

/**
 * Raw files of a model folder, parsed but not interpreted (modelSpec/ is pure: files in, spec out).
 * The one reading of the folder: the spec, the tokenizer workers and the engine all use what is
 * here, so they cannot disagree about which tokenizer.json or which .onnx is meant.
 */
export interface ModelFiles {
  readonly dir: string;
  readonly config?: Record<string, unknown>;
  readonly tokenizerJson?: Record<string, unknown>;
  readonly tokenizerConfig?: Record<string, unknown>;
  readonly specialTokensMap?: Record<string, unknown>;
  readonly sentenceTransformersConfig?: Record<string, unknown>;
  readonly sentenceBertConfig?: Record<string, unknown>;
  readonly modules?: unknown[];
  /** Relative path each parsed JSON file was read from ('tokenizer.json' or 'onnx/tokenizer.json'); readModelFiles always sets it and onnxFiles, hand-built ModelFiles (tests) may omit them. */
  readonly paths?: Readonly<Partial<Record<ModelJsonKey, string>>>;
  /** Every .onnx file at the root, under onnx/ and one folder below it, with its size; sorted by path. */
  readonly onnxFiles?: readonly OnnxFileEntry[];
  /** Relative path of the chosen .onnx file, when one was found. */
  readonly onnxFile?: string;
  readonly graph?: OnnxGraphInfo;
  /** Names of files present at the top level and under onnx/ ('onnx/x'; folders end with '/'), for messages and hints. */
  readonly listing: readonly string[];
  /** Decoder LLM rerankers' extra files (readDecoderFiles.ts). */
  readonly decoder?: DecoderFiles;
  /** Every .onnx variant found (variants.ts), with sizes. */
  readonly variants?: readonly Variant[];
  /** How MODEL_DTYPE chose onnxFile, when it did. */
  readonly variant?: VariantChoice;
}

export interface SpecOverrides {
  readonly task?: Task;
  readonly maxInputLength?: number;
  readonly activation?: Activation;
  /** SCORE_TOKENS: the true token, and optionally the false one (decoder LLM rerankers). */
  readonly scoreTokens?: readonly string[];
  /** PROMPT_TEMPLATE, already read and parsed. */
  readonly promptTemplate?: PromptTemplate;
  /** INSTRUCTION: the default instruction. */
  readonly instruction?: string;
}

/** Which file and field decided a value. */
export interface Evidence {
  readonly field: string;
  readonly value: unknown;
  /** e.g. 'onnx:outputs.logits.dims', 'config.json:architectures', 'override:MODEL_TASK' */
  readonly source: string;
}

export interface ModelInputs {
  readonly inputIds: string;
  readonly attentionMask?: string;
  readonly tokenTypeIds?: string;
  /** Element type the graph wants for the id inputs ('int64' for nearly every export). */
  readonly idType: 'int64' | 'int32';
  /** Decoder exports: position_ids, empty past_key_values, use_cache_branch. */
  readonly decoder?: DecoderInputs;
}

export interface ModelSpec {
  readonly task: Task;
  readonly family: string;
  readonly architecture?: string;
  readonly numLabels: number;
  /** Label names by index; for a reranker a single entry. */
  readonly labels: readonly string[];
  readonly activation: Activation;
  readonly maxInputLength: number;
  readonly positionEmbedding: 'absolute' | 'alibi' | 'rotary' | 'relative' | 'unknown';
  /** Undefined when only config files were inspected (no graph). */
  readonly inputs?: ModelInputs;
  readonly outputName?: string;
  readonly padTokenId: number;
  readonly paddingSide: 'right' | 'left';
  readonly truncationSide: 'right' | 'left';
  /** `_name_or_path` or similar: a hint, never a decision. */
  readonly nameHint?: string;
  readonly onnxFile?: string;
  /** Decoder LLM rerankers: scored by the next-token logits of "yes"/"no" after a prompt. */
  readonly yesNo?: YesNoSpec;
  /** How special tokens wrap a pair; undefined when there is no tokenizer.json. */
  readonly pairTemplate?: PairTemplate;
  /** How MODEL_DTYPE chose onnxFile, when it did. */
  readonly variant?: VariantChoice;
  readonly evidence: readonly Evidence[];
  readonly warnings: readonly string[];
}

export type SpecResult =
  | { readonly ok: true; readonly spec: ModelSpec }
  | { readonly ok: false; readonly reason: string; readonly evidence: readonly Evidence[]; readonly warnings: readonly string[] };

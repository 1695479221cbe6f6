/** What the tokenizer workers are given to load (a type-only module). */
import type { PairTemplate } from './pairTemplate';

/**
 * The tokenizer exactly as the model folder's one reader found it (modelSpec/readModelFiles.ts):
 * parsed JSON, not a folder to search again, so workers cannot load a different file than the spec saw.
 */
export interface TokenizerFiles {
  readonly tokenizerJson: object;
  readonly tokenizerConfig?: object;
  /** The spec's decision; when absent the encoder reads it from tokenizerJson itself. */
  readonly template?: PairTemplate;
  /** Where tokenizer.json was read, for messages ('/models/x/onnx/tokenizer.json'). */
  readonly from: string;
}

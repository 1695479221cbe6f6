/**
 * What serving needs beyond a decided spec, checked in one place for the server and for
 * `reranker inspect` (which must not call a folder servable that the server would then refuse):
 * a graph with feedable inputs, a tokenizer.json with a pair template, and segment ids the graph
 * can take. Also hands the tokenizer workers the exact files that were read.
 */
import path from 'node:path';
import { AppError } from '../errors';
import type { TokenizerFiles } from '../tokenize/tokenizerFiles';
import { getInt } from './jsonFields';
import type { ModelFiles, ModelSpec } from './types';

/** Why these files cannot be served with this spec, or undefined when they can. */
export function unservableReason(files: ModelFiles, spec: ModelSpec): string | undefined {
  if (!files.graph || !spec.inputs || !spec.outputName || !spec.onnxFile) {
    return `no .onnx file found in ${files.dir}; put model.onnx at the root or under onnx/, or set MODEL_ONNX_FILE`;
  }
  if (!files.tokenizerJson || (!spec.pairTemplate && !spec.yesNo)) {
    return `no tokenizer.json in ${files.dir} (looked at the root, beside ${spec.onnxFile} and in onnx/); copy the model's tokenizer.json there`;
  }
  // A decoder LLM reranker wraps pairs in its prompt (spec.yesNo.template): no segment ids.
  if (!spec.pairTemplate) return undefined;
  // Graph inputs vs tokenizer outputs: a token_type_ids input with one row cannot take segment id 1.
  const typeRows = getInt(files.config, 'type_vocab_size');
  const maxType = Math.max(...spec.pairTemplate.pair.map((p) => p.typeId));
  if (spec.inputs.tokenTypeIds !== undefined && typeRows !== undefined && maxType >= typeRows) {
    return `the pair template (${spec.pairTemplate.source}) gives segment id ${maxType}, but config.json type_vocab_size is ${typeRows}: the graph's ${spec.inputs.tokenTypeIds} input cannot take it`;
  }
  return undefined;
}

/** The tokenizer files exactly as read, with the spec's template, for the tokenizer workers. */
export function tokenizerFilesOf(files: ModelFiles, spec?: ModelSpec): TokenizerFiles {
  if (!files.tokenizerJson) throw new AppError('Model', `no tokenizer.json in ${files.dir} (looked at the root, beside the .onnx and in onnx/)`);
  return {
    tokenizerJson: files.tokenizerJson,
    ...(files.tokenizerConfig ? { tokenizerConfig: files.tokenizerConfig } : {}),
    ...(spec?.pairTemplate ? { template: spec.pairTemplate } : {}),
    from: path.join(files.dir, files.paths?.tokenizerJson ?? 'tokenizer.json'),
  };
}

/**
 * Which tensors the engine feeds, read from the graph itself rather than guessed from the config
 * (some BERT exports drop token_type_ids, RoBERTa ones never had it). Every graph input is
 * required in ONNX (initializer-backed ones were already removed by the parser), so an input the
 * engine cannot fill is a refusal now rather than a failed run later.
 */
import { formatDims, onnxSource, type Notes } from './notes';
import type { ModelInputs, OnnxGraphInfo } from './types';

const KNOWN = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

export type InputsDecision = { readonly ok: true; readonly inputs: ModelInputs } | { readonly ok: false; readonly reason: string };

export function decideInputs(graph: OnnxGraphInfo, onnxFile: string | undefined, notes: Notes): InputsDecision {
  const file = onnxSource(onnxFile);
  const declared = graph.inputs.map((i) => `${i.name}:${i.type}${formatDims(i.dims)}`).join(', ');
  const extra = graph.inputs.filter((i) => !(KNOWN as readonly string[]).includes(i.name));
  if (extra.length > 0) {
    const names = extra.map((i) => i.name).join(', ');
    return { ok: false, reason: `${file} requires input(s) ${names} that the server cannot provide (it feeds input_ids, attention_mask, token_type_ids); graph inputs: ${declared}` };
  }
  const ids = graph.inputs.find((i) => i.name === 'input_ids');
  if (!ids) return { ok: false, reason: `${file} has no input_ids input; graph inputs: ${declared || 'none'}` };
  if (ids.type !== 'int64' && ids.type !== 'int32') {
    return { ok: false, reason: `${file} input_ids has element type ${ids.type}; supported: int64 or int32` };
  }
  const idType = ids.type;
  const mismatched = graph.inputs.find((i) => i.type !== idType);
  if (mismatched) {
    return { ok: false, reason: `${file} input ${mismatched.name} is ${mismatched.type} while input_ids is ${idType}; mixed input types are not supported` };
  }
  const has = (name: string): boolean => graph.inputs.some((i) => i.name === name);
  const inputs: ModelInputs = {
    inputIds: 'input_ids',
    ...(has('attention_mask') ? { attentionMask: 'attention_mask' } : {}),
    ...(has('token_type_ids') ? { tokenTypeIds: 'token_type_ids' } : {}),
    idType,
  };
  notes.decide('inputs', graph.inputs.map((i) => i.name), `${file} inputs ${declared}`);
  if (!inputs.attentionMask) notes.warn(`${file} takes no attention_mask: padded positions are attended to, so scores of padded pairs may differ`);
  return { ok: true, inputs };
}

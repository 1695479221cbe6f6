/**
 * Files in, frozen ModelSpec out: pure, so every real config is a fast unit test and the spec is
 * decided (and shown by `reranker inspect`) before any engine starts. Each decide* step records
 * which file and field decided its value; a refusal is a result, not an exception, so inspect can
 * print it and the server can stop with one clear line.
 */
import { decideActivation } from './decideActivation';
import { decideFamily } from './decideFamily';
import { decideInputs } from './decideInputs';
import { decideMaxLength } from './decideMaxLength';
import { decideTask } from './decideTask';
import { decideTemplate } from './decideTemplate';
import { decideTokens } from './decideTokens';
import { decideYesNo, yesNoActivation, yesNoTask } from './decideYesNo';
import { Notes } from './notes';
import type { ModelFiles, ModelSpec, SpecOverrides, SpecResult } from './types';

export function buildSpec(files: ModelFiles, overrides: SpecOverrides = {}): SpecResult {
  const notes = new Notes();
  const refuse = (reason: string): SpecResult =>
    deepFreeze({ ok: false as const, reason, evidence: notes.evidence, warnings: notes.warnings });

  // Decoder LLM rerankers first: their config says *ForCausalLM, which decideTask refuses.
  const yesNo = decideYesNo(files, overrides, notes);
  if (yesNo?.ok === false) return refuse(yesNo.reason);
  const task = yesNo ? yesNoTask(files, yesNo.outputName) : decideTask(files, overrides, notes);
  if (!task.ok) return refuse(task.reason);
  const family = decideFamily(files, notes);
  const tokens = decideTokens(files, notes);
  // A decoder's pairs are wrapped by its prompt (spec.yesNo.template), not by a pair template.
  const template = yesNo ? { ok: true as const, template: undefined } : decideTemplate(files, notes);
  if (!template.ok) return refuse(template.reason);
  let inputs;
  if (files.graph) {
    const decided = yesNo?.inputs ? { ok: true as const, inputs: yesNo.inputs } : decideInputs(files.graph, files.onnxFile, notes);
    if (!decided.ok) return refuse(decided.reason);
    inputs = decided.inputs;
    notes.decide('outputName', task.outputName, `onnx:${files.onnxFile ?? 'model.onnx'} outputs.${task.outputName ?? '?'} (logits preferred, else the first output)`);
  }
  let maxInputLength = decideMaxLength(files, family, tokens.padTokenId, overrides.maxInputLength, notes);
  if (yesNo?.maxLength && overrides.maxInputLength === undefined && yesNo.maxLength.value < maxInputLength) {
    maxInputLength = yesNo.maxLength.value;
    notes.decide('maxInputLength', maxInputLength, yesNo.maxLength.source);
  }
  const activation = yesNo ? yesNoActivation(files, yesNo.yesNo, overrides, notes) : decideActivation(files, task.numLabels, overrides.activation, notes);
  const architecture = task.head.architecture;
  if (architecture !== undefined) notes.decide('architecture', architecture, 'config.json:architectures');
  if (!files.graph) notes.warn('no ONNX graph found: the spec comes from the config files only, and the model cannot be served until a .onnx file is present');
  if (!files.tokenizerJson) notes.warn('no tokenizer.json found (at the root, beside the .onnx or in onnx/): the model cannot be served without it');

  const spec: ModelSpec = {
    task: task.task,
    family: family.family,
    ...(architecture !== undefined ? { architecture } : {}),
    numLabels: task.numLabels,
    labels: task.labels,
    activation,
    maxInputLength,
    positionEmbedding: family.positionEmbedding,
    ...(inputs ? { inputs } : {}),
    ...(files.graph && task.outputName !== undefined ? { outputName: task.outputName } : {}),
    padTokenId: tokens.padTokenId,
    paddingSide: tokens.paddingSide,
    truncationSide: tokens.truncationSide,
    ...(task.head.nameHint !== undefined ? { nameHint: task.head.nameHint } : {}),
    ...(files.onnxFile !== undefined ? { onnxFile: files.onnxFile } : {}),
    ...(yesNo ? { yesNo: yesNo.yesNo } : {}),
    ...(template.template ? { pairTemplate: template.template } : {}),
    ...(files.variant ? { variant: files.variant } : {}),
    evidence: notes.evidence,
    warnings: notes.warnings,
  };
  return deepFreeze({ ok: true as const, spec });
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

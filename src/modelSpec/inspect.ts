/**
 * `reranker inspect <dir>`: reads a model folder, decides the spec, and renders it for a person.
 *
 * Exit codes:
 *   0  the model can be served; or only config files are there (no .onnx) and the task could be
 *      decided and is supported: the JSON says `servable: false, reason: 'no .onnx file found'`
 *      and a warning, since inspecting a config-only folder is a normal check before export
 *   1  refused (embedding model, token classifier, causal LM, unfeedable graph, ...): one line
 *   2  the folder could not be read (missing, bad JSON, ambiguous or unreadable .onnx): one line
 */
import { isAppError, messageOf } from '../errors';
import { buildSpec } from './buildSpec';
import { readModelFiles } from './readModelFiles';
import { scoringReport } from './yesNoReport';
import type { ModelFiles, SpecOverrides } from './types';
import type { ReadModelFilesOptions } from './readModelFiles';

export interface InspectOptions {
  readonly onnxFile?: string;
  /** MODEL_DTYPE as the server would apply it (the CLI passes the CPU's features) */
  readonly dtype?: ReadModelFilesOptions['dtype'];
  readonly overrides?: SpecOverrides;
}

export interface InspectResult {
  readonly exitCode: number;
  readonly output: string;
}

export const EXIT_SERVABLE = 0;
export const EXIT_REFUSED = 1;
export const EXIT_UNREADABLE = 2;

export async function inspectModel(dir: string, options: InspectOptions = {}): Promise<InspectResult> {
  let files: ModelFiles;
  try {
    files = await readModelFiles(dir, options.onnxFile !== undefined ? { onnxFile: options.onnxFile } : options.dtype ? { dtype: options.dtype } : {});
  } catch (e) {
    const msg = isAppError(e) ? e.message : `cannot read ${dir}: ${messageOf(e)}`;
    return { exitCode: EXIT_UNREADABLE, output: `error: ${oneLine(msg)}` };
  }
  let result;
  try {
    result = buildSpec(files, options.overrides);
  } catch (e) {
    return { exitCode: EXIT_UNREADABLE, output: `error: ${oneLine(messageOf(e))}` };
  }
  if (!result.ok) return { exitCode: EXIT_REFUSED, output: `refused: ${oneLine(result.reason)}` };

  const s = result.spec;
  const report = {
    servable: files.graph !== undefined,
    ...(files.graph ? {} : { reason: 'no .onnx file found' }),
    dir,
    task: s.task,
    family: s.family,
    architecture: s.architecture ?? null,
    maxInputLength: s.maxInputLength,
    activation: s.activation,
    scoring: await scoringReport(s, files),
    numLabels: s.numLabels,
    labels: s.labels,
    positionEmbedding: s.positionEmbedding,
    inputs: s.inputs ?? null,
    outputName: s.outputName ?? null,
    padTokenId: s.padTokenId,
    paddingSide: s.paddingSide,
    truncationSide: s.truncationSide,
    nameHint: s.nameHint ?? null,
    onnxFile: s.onnxFile ?? null,
    variant: s.variant ?? null,
    // Every .onnx found, its size, and which one is served.
    variants: (files.variants ?? []).map((v) => ({ ...v, served: v.file === s.onnxFile })),
    graph: files.graph
      ? {
          producer: files.graph.producer ?? null,
          opsetVersion: files.graph.opsetVersion ?? null,
          inputs: files.graph.inputs,
          outputs: files.graph.outputs,
          positionTableRows: files.graph.positionTableRows ?? null,
        }
      : null,
    evidence: s.evidence,
    warnings: s.warnings,
    files: files.listing,
  };
  return { exitCode: EXIT_SERVABLE, output: JSON.stringify(report, null, 2) };
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * `reranker inspect <dir>`: reads a model folder, decides the spec, runs every check serving runs
 * (graph, tokenizer.json loads and encodes a pair with the decided template, segment ids the graph
 * takes), and renders it for a person.
 *
 * Exit codes (0 exactly when the server would serve the folder):
 *   0  servable: the JSON report on stdout
 *   1  refused (embedding model, token classifier, causal LM, unfeedable graph, ...): one line on
 *      stderr; or decided but not servable (no .onnx, no tokenizer.json, a tokenizer that does not
 *      load): the JSON report with `servable: false` and `reason` on stdout, so a config-only
 *      folder can still be checked before export
 *   2  the folder could not be read (missing, bad JSON, ambiguous or unreadable .onnx): one line
 */
import { isAppError, messageOf } from '../errors';
import { PairEncoder } from '../tokenize/pairEncoder';
import { buildSpec } from './buildSpec';
import { readModelFiles } from './readModelFiles';
import { scoringReport } from './yesNoReport';
import { tokenizerFilesOf, unservableReason } from './servable';
import type { ModelFiles, ModelSpec, SpecOverrides } from './types';
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
  /** The JSON report goes to stdout even when not servable; one-line refusals and errors to stderr. */
  readonly stream: 'stdout' | 'stderr';
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
    return { exitCode: EXIT_UNREADABLE, output: `error: ${oneLine(msg)}`, stream: 'stderr' };
  }
  let result;
  try {
    result = buildSpec(files, options.overrides);
  } catch (e) {
    return { exitCode: EXIT_UNREADABLE, output: `error: ${oneLine(messageOf(e))}`, stream: 'stderr' };
  }
  if (!result.ok) return { exitCode: EXIT_REFUSED, output: `refused: ${oneLine(result.reason)}`, stream: 'stderr' };

  const s = result.spec;
  const reason = unservableReason(files, s) ?? (await tokenizerFailure(files, s));
  const report = {
    servable: reason === undefined,
    ...(reason !== undefined ? { reason } : {}),
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
    onnxFiles: files.onnxFiles ?? [],
    filesRead: files.paths ?? {},
    pairTemplate: s.pairTemplate ?? null,
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
  return { exitCode: reason === undefined ? EXIT_SERVABLE : EXIT_REFUSED, output: JSON.stringify(report, null, 2), stream: 'stdout' };
}

/** What the tokenizer workers do at start-up: load tokenizer.json with the decided template and encode a pair. */
async function tokenizerFailure(files: ModelFiles, spec: ModelSpec): Promise<string | undefined> {
  try {
    const encoder = await PairEncoder.fromFiles(tokenizerFilesOf(files, spec));
    encoder.encodePair('inspect', 'inspect', { truncate: true, direction: spec.truncationSide, maxLength: spec.maxInputLength });
    return undefined;
  } catch (e) {
    return `${files.paths?.tokenizerJson ?? 'tokenizer.json'} does not load: ${oneLine(messageOf(e))}`;
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

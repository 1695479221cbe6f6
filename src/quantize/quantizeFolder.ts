/**
 * `reranker quantize <model-dir>`: reads the fp32 graph the folder serves, writes its dynamic int8
 * version beside it (model_quantized.onnx, the name transformers.js and optimum use), and checks it
 * by serving both through the real engine on a fixed set of real pairs. The file only appears under
 * its final name after onnxruntime has loaded and run it: a failed run leaves nothing behind.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { BatchingOptions, EngineOptions } from '../config';
import { createReranker } from '../engine/createReranker';
import type { Reranker } from '../engine/reranker';
import { AppError } from '../errors';
import { buildSpec } from '../modelSpec/buildSpec';
import { readModelFiles } from '../modelSpec/readModelFiles';
import type { ModelSpec } from '../modelSpec/types';
import { fidelity, type FidelityReport, type QueryScores } from './fidelity';
import type { PairGroup } from './fidelityPairs';
import { quantizeModel, type QuantizeSummary, type QuantOps } from './quantizeGraph';

export interface QuantizeFolderOptions {
  /** The engine's and the scheduler's settings (config.ts settingsOf); the device and worker counts are set here. */
  readonly engine: EngineOptions;
  readonly batching: BatchingOptions;
  /** output file; default model_quantized.onnx beside the fp32 file */
  readonly out?: string;
  /** the fp32 file inside the folder; default the one the server would pick */
  readonly onnxFile?: string;
  readonly ops?: QuantOps;
  /** real (query, documents) groups for the fidelity report; none: the file is only load-checked */
  readonly groups?: readonly PairGroup[];
}

/** What createReranker is given. */
interface Engine {
  readonly engine: EngineOptions;
  readonly batching: BatchingOptions;
}

export interface QuantizeFolderResult {
  readonly source: string;
  readonly out: string;
  readonly summary: QuantizeSummary;
  readonly fidelity?: FidelityReport;
  readonly seconds: number;
}

export async function quantizeFolder(dir: string, o: QuantizeFolderOptions): Promise<QuantizeFolderResult> {
  const t0 = performance.now();
  const files = await readModelFiles(dir, o.onnxFile !== undefined ? { onnxFile: o.onnxFile } : {});
  if (files.onnxFile === undefined) throw new AppError('Model', `no .onnx file in ${dir} to quantize`);
  const built = buildSpec(files);
  if (!built.ok) throw new AppError('Model', `cannot quantize ${dir}: the model cannot be served (${built.reason})`);
  const source = path.join(dir, files.onnxFile);
  const out = path.resolve(o.out ?? path.join(path.dirname(source), 'model_quantized.onnx'));
  if (!out.endsWith('.onnx')) throw new AppError('Config', `--out ${o.out} must name an .onnx file`);
  if (out === path.resolve(source)) throw new AppError('Config', `--out ${o.out} would overwrite the fp32 model it reads`);

  const { bytes, summary } = quantizeModel(await fsp.readFile(source), o.ops);
  const temp = `${out}.partial-${process.pid}`;
  await fsp.mkdir(path.dirname(out), { recursive: true });
  await fsp.writeFile(temp, bytes);
  try {
    // CPU: the int8 kernels this file is for; one worker each keeps the two models' runs apart.
    const engine: EngineOptions = { ...o.engine, device: 'cpu', inferenceWorkers: 1, tokenizerWorkers: 1 };
    const report = await compare({ engine, batching: o.batching }, built.spec, path.relative(dir, temp), dir, o.groups);
    await fsp.rename(temp, out);
    return { source, out, summary, ...(report ? { fidelity: report } : {}), seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    await fsp.rm(temp, { force: true });
    throw e;
  }
}

/** Serves fp32 and int8 one after the other (never both at once: memory) and compares their raw scores. */
async function compare(config: Engine, spec: ModelSpec, quantRel: string, dir: string, groups?: readonly PairGroup[]): Promise<FidelityReport | undefined> {
  const probe: PairGroup[] = [{ query: 'what does the quantized model say', documents: ['it answers with finite scores', 'warm up '.repeat(200)] }];
  const quantScores = await scoreGroups(config, { ...spec, onnxFile: quantRel }, dir, groups ?? probe, 'the quantized model');
  const bad = quantScores.flat().find((x) => !Number.isFinite(x));
  if (bad !== undefined) throw new AppError('Model', `the quantized model returned a non-finite score (${bad}); nothing was written`);
  if (!groups) return undefined;
  const refScores = await scoreGroups(config, spec, dir, groups, 'the fp32 model');
  const rows: QueryScores[] = groups.map((g, i) => ({ query: g.query, reference: refScores[i]!, candidate: quantScores[i]! }));
  return fidelity(rows);
}

async function scoreGroups(config: Engine, spec: ModelSpec, dir: string, groups: readonly PairGroup[], what: string): Promise<number[][]> {
  let reranker: Reranker;
  try {
    reranker = await createReranker(config.engine, config.batching, spec, await readModelFiles(dir));
  } catch (e) {
    throw new AppError('Model', `onnxruntime could not load ${what} (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); nothing was written`, { cause: e });
  }
  try {
    const out: number[][] = [];
    for (const g of groups) {
      const r = await reranker.score(g.documents.map((d) => [g.query, d] as const), { truncate: true, direction: 'right' });
      // The ranking score: the only logit of a reranker, the last (positive) label of a classifier.
      const col = r.numLabels - 1;
      out.push(g.documents.map((_, i) => r.logits[i * r.numLabels + col]!));
    }
    return out;
  } finally {
    await reranker.close();
  }
}

/**
 * Prepares a decoder reranker's graph before its sessions start: a causal-LM export is rewritten
 * (graphRewrite/) so it computes only the scoring tokens' logits at the last real position; a graph
 * that cannot be rewritten is served as it is, with a warning and a batch budget that bounds the
 * [batch, seq, vocab] logits it allocates per run.
 */
import path from 'node:path';
import { rewriteForYesNo } from '../graphRewrite/rewriteCache';
import { messageOf } from '../errors';
import { readOnnxGraph } from '../modelSpec/onnxGraph';
import type { ModelSpec } from '../modelSpec/types';
import type { PromptIds } from '../tokenize/promptEncoder';
import type { WorkerInit } from './protocol';

/** Logits memory one unrewritten run may allocate (fp32 floats of [batch, seq, vocab]). */
export const UNREWRITTEN_LOGITS_BUDGET_BYTES = 512 * 1024 * 1024;

export interface YesNoGraphInfo {
  readonly rewritten: boolean;
  /** what was cut (rewritten) or why not */
  readonly detail: string;
  readonly cached?: boolean;
  readonly modelPath: string;
  /** fallback only: MAX_BATCH_TOKENS cap from the logits budget */
  readonly maxBatchTokens?: number;
  /** the prompt's fixed parts as the tokenizer workers encode them */
  readonly promptIds?: PromptIds;
}

export interface PreparedGraph {
  readonly modelPath: string;
  readonly outputName: string;
  readonly yesNo: NonNullable<WorkerInit['yesNo']>;
  readonly info: YesNoGraphInfo;
}

export async function prepareYesNoGraph(spec: ModelSpec, modelDir: string, cacheDir: string, warn: (msg: string) => void): Promise<PreparedGraph> {
  const y = spec.yesNo!;
  const source = path.join(modelDir, spec.onnxFile!);
  const tokenIds = y.tokens.map((t) => t.id);
  const outputName = spec.outputName ?? 'logits';
  if (y.layout === 'seq-cls') {
    return { modelPath: source, outputName, yesNo: { output: 'score', tokenIds }, info: { rewritten: false, detail: 'seq-cls graph: already one score per pair', modelPath: source } };
  }
  let reason: string;
  try {
    const r = await rewriteForYesNo({ modelFile: source, tokenIds, cacheDir, logitsName: outputName, maskName: spec.inputs?.attentionMask ?? 'attention_mask' });
    if (r.rewritten) {
      return { modelPath: r.modelPath, outputName: r.outputName, yesNo: { output: 'pair', tokenIds }, info: { rewritten: true, detail: r.how, cached: r.cached, modelPath: r.modelPath } };
    }
    reason = r.reason;
  } catch (e) {
    reason = `rewrite failed: ${messageOf(e)}`;
  }
  const vocab = readOnnxGraph(source).outputs.find((o) => o.name === outputName)?.dims[2];
  const perToken = (typeof vocab === 'number' ? vocab : 151669) * 4;
  const maxBatchTokens = Math.max(spec.maxInputLength, Math.floor(UNREWRITTEN_LOGITS_BUDGET_BYTES / perToken));
  warn(
    `the decoder graph could not be rewritten to score only the last token (${reason}); serving it unrewritten: every run computes [batch, seq, ${vocab ?? 'vocab'}] logits, so batches are capped at ${maxBatchTokens} tokens`,
  );
  return { modelPath: source, outputName, yesNo: { output: 'vocab', tokenIds }, info: { rewritten: false, detail: reason, modelPath: source, maxBatchTokens } };
}

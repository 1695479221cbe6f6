/**
 * The Hugging Face inference toolkit's text-classification shape, for users moving from the HF
 * SageMaker container: `{"inputs": [[q, d], ...]}` or `{"inputs": [{"text": q, "text_pair": d}, ...]}`
 * gives one `{label, score}` per input, in input order (the pipeline's default top_k=1 output);
 * `parameters.top_k` (a number, or null for all labels) gives a list per input instead, best first.
 * A single `{"text", "text_pair"}` object gives a single result, as the pipeline does.
 * Only on /invocations: /predict keeps TEI's shape.
 */
import type { Activation } from '../../modelSpec/types';
import type { TextPair } from '../../tokenize/types';
import type { RequestContext } from '../context';
import { resolveOptions, type BodyOptions } from '../options';
import { hfPairsRequest, validate, type HfPairsRequest } from '../schemas';
import { scorePairs } from './scoring';
import type { LabelScore } from './teiPredict';

export type HfPairsResponse = LabelScore | LabelScore[] | LabelScore[][];

export interface HfPairsResult {
  readonly body: HfPairsResponse;
  /** Best score per input, in input order (a CSV row). */
  readonly best: number[];
}

const ACTIVATION: Record<'sigmoid' | 'softmax' | 'none', Activation> = { sigmoid: 'sigmoid', softmax: 'softmax', none: 'identity' };

export async function hfPairs(ctx: RequestContext, body: unknown, attributes: BodyOptions): Promise<HfPairsResult> {
  const req = validate(hfPairsRequest, body, 'Hugging Face pairs request');
  const single = !Array.isArray(req.inputs);
  const items = Array.isArray(req.inputs) ? req.inputs : [req.inputs];
  const pairs: TextPair[] = items.map((x) => (Array.isArray(x) ? [x[0], x[1]] : [x.text, x.text_pair ?? null]));
  const params = req.parameters;
  const truncation = params?.truncation === undefined ? undefined : params.truncation === true || params.truncation === 'longest_first';
  const opts = resolveOptions({ ...req, truncate: req.truncate ?? truncation }, attributes);
  // function_to_apply may differ from the model's own activation.
  const { scores, numLabels } = await scorePairs(ctx, pairs, opts, params?.function_to_apply ? ACTIVATION[params.function_to_apply] : undefined);
  const labels = ctx.reranker.spec.labels;
  const rows = pairs.map((_, i) => {
    const row: LabelScore[] = [];
    for (let j = 0; j < numLabels; j++) row.push({ label: labels[j] ?? `LABEL_${j}`, score: scores[i * numLabels + j]! });
    return row.sort((a, b) => b.score - a.score);
  });
  return { body: shape(rows, single, req.parameters), best: rows.map((r) => r[0]!.score) };
}

/** The pipeline's output shapes: top_k absent -> the best label per input; present -> a list per input. */
function shape(rows: LabelScore[][], single: boolean, params: HfPairsRequest['parameters']): HfPairsResponse {
  if (params?.top_k === undefined) return single ? rows[0]![0]! : rows.map((r) => r[0]!);
  const k = params.top_k ?? Number.POSITIVE_INFINITY;
  const cut = rows.map((r) => r.slice(0, k));
  return single ? cut[0]! : cut;
}

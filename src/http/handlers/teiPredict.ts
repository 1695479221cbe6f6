/**
 * POST /predict (TEI): a text, a [text, text_pair], or a batch of them -> labels with scores,
 * best first; a batch gives one list per input.
 */
import { AppError } from '../../errors';
import type { RequestContext } from '../context';
import type { TextPair } from '../../tokenize/types';
import { resolveOptions, type BodyOptions } from '../options';
import { teiPredictRequest, validate } from '../schemas';
import { scorePairs } from './scoring';

export interface LabelScore {
  readonly score: number;
  readonly label: string;
}

type Sequence = TextPair;

export async function teiPredict(ctx: RequestContext, body: unknown, attributes: BodyOptions): Promise<LabelScore[] | LabelScore[][]> {
  const req = validate(teiPredictRequest, body, 'predict request');
  const { batch, sequences } = toSequences(req.inputs);
  if (sequences.length === 0) throw new AppError('Empty', '`inputs` is empty');
  const opts = resolveOptions(req, attributes);
  const { scores, numLabels } = await scorePairs(ctx, sequences, opts);
  const labels = ctx.reranker.spec.labels;
  const rows = sequences.map((_, i) => {
    const row: LabelScore[] = [];
    for (let j = 0; j < numLabels; j++) row.push({ score: scores[i * numLabels + j]!, label: labels[j] ?? `LABEL_${j}` });
    return row.sort((a, b) => b.score - a.score);
  });
  return batch ? rows : rows[0]!;
}

/**
 * TEI's rules: a string is one text; an array of one or two strings is one input; an array of
 * arrays is a batch. A single text is encoded with the tokenizer's single-sequence template.
 */
function toSequences(inputs: string | Array<string | string[]>): { batch: boolean; sequences: Sequence[] } {
  if (typeof inputs === 'string') return { batch: false, sequences: [single(inputs)] };
  if (inputs.every((x) => typeof x === 'string')) {
    const texts = inputs as string[];
    if (texts.length === 2) return { batch: false, sequences: [[texts[0]!, texts[1]!]] };
    if (texts.length === 1) return { batch: false, sequences: [single(texts[0]!)] };
    return { batch: true, sequences: texts.map(single) };
  }
  return {
    batch: true,
    sequences: inputs.map((x, i) => {
      if (typeof x === 'string') return single(x);
      if (x.length === 2) return [x[0]!, x[1]!] as const;
      if (x.length === 1) return single(x[0]!);
      throw new AppError('Validation', `inputs.${i} must be a text or a [text, text_pair] pair`);
    }),
  };
}

function single(text: string): Sequence {
  return [text, null];
}

/**
 * Per-request options, from the body and from X-Amzn-SageMaker-Custom-Attributes
 * (`raw_scores=true;top_n=5;truncate=false`), which SageMaker forwards untouched. Body fields win.
 */
import { AppError } from '../errors';

export interface RequestOptions {
  readonly rawScores: boolean;
  readonly truncate: boolean;
  /** Undefined when the request does not say: the model's own truncation side applies (spec.truncationSide). */
  readonly direction: 'right' | 'left' | undefined;
  readonly returnText: boolean;
  readonly topN: number | undefined;
  /** Decoder LLM rerankers' prompt instruction; undefined: the spec's default. Ignored by other models. */
  readonly instruction?: string;
}

export interface BodyOptions {
  readonly raw_scores?: boolean | undefined;
  readonly truncate?: boolean | undefined;
  readonly truncation_direction?: string | undefined;
  readonly return_text?: boolean | undefined;
  readonly top_n?: number | undefined;
  readonly instruction?: string | undefined;
}

const KNOWN = new Set(['raw_scores', 'truncate', 'truncation_direction', 'return_text', 'top_n', 'instruction']);

/** Parses the header; unknown keys are ignored (the attribute is free-form for other uses). */
export function parseCustomAttributes(header: string | undefined): BodyOptions {
  if (!header) return {};
  const out: Record<string, unknown> = {};
  for (const part of header.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (!KNOWN.has(key)) continue;
    if (key === 'top_n') {
      if (!/^\d+$/.test(value) || Number(value) < 1) throw new AppError('Validation', `custom attribute top_n=${value} must be a positive integer`);
      out[key] = Number(value);
    } else if (key === 'instruction') {
      // Percent-encoded, so it can hold the ; and , that separate attributes.
      try {
        out[key] = decodeURIComponent(value);
      } catch {
        throw new AppError('Validation', 'custom attribute instruction must be percent-encoded UTF-8');
      }
    } else if (key === 'truncation_direction') {
      out[key] = value;
    } else {
      const v = value.toLowerCase();
      if (v !== 'true' && v !== 'false') throw new AppError('Validation', `custom attribute ${key}=${value} must be true or false`);
      out[key] = v === 'true';
    }
  }
  return out as BodyOptions;
}

export function resolveOptions(body: BodyOptions, header: BodyOptions): RequestOptions {
  const dir = (body.truncation_direction ?? header.truncation_direction)?.toLowerCase();
  if (dir !== undefined && dir !== 'right' && dir !== 'left') throw new AppError('Validation', `truncation_direction must be right or left, got ${dir}`);
  return {
    rawScores: body.raw_scores ?? header.raw_scores ?? false,
    truncate: body.truncate ?? header.truncate ?? true,
    direction: dir,
    returnText: body.return_text ?? header.return_text ?? false,
    topN: body.top_n ?? header.top_n,
    ...((body.instruction ?? header.instruction) !== undefined ? { instruction: (body.instruction ?? header.instruction)! } : {}),
  };
}

/**
 * Which API a JSON body speaks, decided from its shape (documented in docs/api.md):
 *   {query, texts}                      TEI rerank
 *   {inputs: ...}                       TEI predict
 * Each dialect returns its JSON answer and the scores in input order (for CSV output).
 */
import { AppError } from '../errors';
import type { RequestContext } from './context';
import { teiPredict } from './handlers/teiPredict';
import { teiRerank } from './handlers/teiRerank';
import type { BodyOptions } from './options';

export interface DialectResult {
  readonly body: unknown;
  /** One CSV row: scores in input order. */
  readonly csv: ReadonlyArray<number | string>;
}

type Handler = (ctx: RequestContext, body: Record<string, unknown>, attrs: BodyOptions) => Promise<DialectResult>;

interface Dialect {
  readonly name: string;
  readonly shape: string;
  matches(body: Record<string, unknown>): boolean;
  readonly handle: Handler;
}

export const DIALECTS: readonly Dialect[] = [
  {
    name: 'tei-rerank',
    shape: '{"query": string, "texts": string[]} (TEI rerank)',
    matches: (b) => 'query' in b && 'texts' in b,
    handle: async (ctx, b, a) => {
      const ranked = await teiRerank(ctx, b, a);
      const byIndex = [...ranked].sort((x, y) => x.index - y.index);
      return { body: ranked, csv: byIndex.map((r) => r.score) };
    },
  },
  {
    name: 'tei-predict',
    shape: '{"inputs": string | [string, string] | [...]} (TEI predict)',
    matches: (b) => 'inputs' in b,
    handle: async (ctx, b, a) => {
      const out = await teiPredict(ctx, b, a);
      const rows = Array.isArray(out[0]) ? (out as Array<Array<{ score: number; label: string }>>) : [out as Array<{ score: number; label: string }>];
      return { body: out, csv: rows.map((r) => r[0]?.label ?? '') };
    },
  },
];

export function pickDialect(body: unknown): Dialect {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('Validation', `the body must be a JSON object; accepted shapes: ${DIALECTS.map((d) => d.shape).join('; ')}`);
  }
  const d = DIALECTS.find((x) => x.matches(body as Record<string, unknown>));
  if (!d) throw new AppError('Validation', `the body matches no accepted shape; accepted: ${DIALECTS.map((x) => x.shape).join('; ')}`);
  return d;
}

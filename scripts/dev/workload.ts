/**
 * The seeded benchmark workload: queries of about 10 words, documents of 40 to 200 words (so
 * lengths vary and padding matters), 8 to 32 documents per request. Words come from the
 * bert-base-uncased vocabulary (from ../shared/fixtures) with a Zipf-like skew and some punctuation, so a word is about one
 * token, as in ordinary English text; the same seed always gives the same requests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { mulberry32 } from '../onnx/prng';
import { bertTokenizerDir } from './paths';

export interface BenchRequest {
  readonly query: string;
  readonly texts: readonly string[];
}

export interface WorkloadOptions {
  readonly requests: number;
  readonly seed?: number;
  readonly vocabFile?: string;
}


function words(vocabFile: string): string[] {
  // Whole words only (no ##pieces, no [special] tokens, no digits): each is exactly one token.
  return fs
    .readFileSync(vocabFile, 'utf8')
    .split('\n')
    .map((w) => w.trim())
    .filter((w) => /^[a-z]{2,}$/.test(w));
}

export function makeWorkload(opts: WorkloadOptions): BenchRequest[] {
  const rand = mulberry32(opts.seed ?? 1234);
  const vocab = words(opts.vocabFile ?? path.join(bertTokenizerDir(), 'vocab.txt'));
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  // Squaring a uniform skews towards the front of the list (frequent words come first in the vocab).
  const word = (): string => vocab[Math.floor(rand() * rand() * vocab.length)]!;
  const sentence = (n: number): string => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      out.push(word());
      const r = rand();
      if (r < 0.06) out[out.length - 1] += ',';
      else if (r < 0.1) out[out.length - 1] += '.';
    }
    return out.join(' ');
  };
  const reqs: BenchRequest[] = [];
  for (let r = 0; r < opts.requests; r++) {
    const query = sentence(int(8, 12));
    const texts = Array.from({ length: int(8, 32) }, () => sentence(int(40, 200)));
    reqs.push({ query, texts });
  }
  return reqs;
}

/** Every (query, document) pair of the workload in request order. */
export function pairsOf(reqs: readonly BenchRequest[]): Array<readonly [string, string]> {
  return reqs.flatMap((r) => r.texts.map((t) => [r.query, t] as const));
}

/** The first requests of a workload that hold at least `pairs` pairs (all of it when it holds fewer). */
export function firstRequests(reqs: readonly BenchRequest[], pairs: number): BenchRequest[] {
  let n = 0;
  for (let count = 0; n < reqs.length && count < pairs; n++) count += reqs[n]!.texts.length;
  return reqs.slice(0, n);
}

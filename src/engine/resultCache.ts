/**
 * The result cache (RESULT_CACHE_MB): an LRU of pair scores shared by every request and dialect,
 * bounded in bytes. It stores logits (before the activation), so raw_scores, function_to_apply and
 * the activated score all come from one entry; everything that changes a logit is in the key:
 * the model file's SHA-256 and the options named in SCORE_CHANGING_OPTIONS, plus the exact query
 * and document. A new option that changes scores (an instruction, say) is one more name in that
 * list and one more field in ScoreKey. Keys are SHA-256 digests, so an entry costs the same
 * whatever the texts' length.
 */
import crypto from 'node:crypto';
import { counter, gauge } from '../metrics';

const hits = counter('reranker_result_cache_hits_total', 'Pairs (documents, when chunking) answered from the result cache');
const misses = counter('reranker_result_cache_misses_total', 'Pairs (documents, when chunking) looked up in the result cache and not found, then scored');
const bytesGauge = gauge('reranker_result_cache_bytes', 'Bytes the result cache accounts for (RESULT_CACHE_MB bounds it)');
const entriesGauge = gauge('reranker_result_cache_entries', 'Entries in the result cache');

/** Options that change a pair's logits; each is part of every key, in this order. */
export const SCORE_CHANGING_OPTIONS = ['truncate', 'direction', 'maxLength', 'mode', 'chunkStride', 'maxChunks'] as const;

export type ScoreKey = Readonly<Record<(typeof SCORE_CHANGING_OPTIONS)[number], string | number | boolean | null>>;

/** What is kept per pair: the logits, the tokens scored (usage stays the same on a hit), and extras. */
export interface CachedScore {
  readonly logits: Float32Array;
  readonly tokens: number;
  /** Long documents: the winning window's span and the windows scored. */
  readonly span?: readonly [number, number];
  readonly windows?: number;
}

/** Per entry beyond its logits: the key string, the Map slot, the object (measured order of magnitude). */
const ENTRY_OVERHEAD = 200;

export class ResultCache {
  private readonly entries = new Map<string, CachedScore>();
  private bytes = 0;

  constructor(
    /** SHA-256 of the ONNX file: keys from another model can never match. */
    private readonly modelHash: string,
    private readonly maxBytes: number,
  ) {}

  key(query: string | null, doc: string | null, options: ScoreKey): string {
    const h = crypto.createHash('sha256');
    h.update(JSON.stringify([this.modelHash, ...SCORE_CHANGING_OPTIONS.map((o) => options[o]), query, doc]));
    return h.digest('base64');
  }

  get(key: string): CachedScore | undefined {
    const v = this.entries.get(key);
    if (v === undefined) {
      misses.inc();
      return undefined;
    }
    // Most recently used goes last: Map keeps insertion order, so the first key is the LRU one.
    this.entries.delete(key);
    this.entries.set(key, v);
    hits.inc();
    return v;
  }

  set(key: string, value: CachedScore): void {
    const size = ENTRY_OVERHEAD + key.length * 2 + value.logits.byteLength;
    if (size > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= ENTRY_OVERHEAD + key.length * 2 + old.logits.byteLength;
    }
    this.entries.set(key, value);
    this.bytes += size;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= ENTRY_OVERHEAD + k.length * 2 + v.logits.byteLength;
    }
    bytesGauge.set(this.bytes);
    entriesGauge.set(this.entries.size);
  }

  get size(): number {
    return this.entries.size;
  }

  get sizeBytes(): number {
    return this.bytes;
  }
}

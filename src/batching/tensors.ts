/**
 * A padded batch as the scheduler packs it and an inference worker feeds it: row-major
 * [batch, seqLen]. Lives in batching/ (its producer) so batching/ imports nothing from engine/,
 * while engine/ (the Reranker) imports the scheduler: dependencies point one way.
 */
export interface BatchTensors {
  readonly batch: number;
  readonly seqLen: number;
  readonly ids: Int32Array;
  readonly typeIds: Uint8Array;
  /** 1 for real tokens and 0 for padding. */
  readonly mask: Uint8Array;
}

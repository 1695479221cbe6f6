/**
 * Where the ranged GETs of one object start: equal parts of the configured size (the last one
 * shorter). Each request costs CPU on both ends (SDK middleware, signing, response parsing, the
 * server's request handling): measured against s3rver on 2 vCPUs, splitting the last lap into
 * quarter-size ranges (40 instead of 16 requests for 256 MiB) cost ~20 % of the throughput, more
 * than the shorter hash tail it bought. See docs/model-sources.md, "Benchmark".
 */

/** Start offsets (ascending, first 0); range i ends where range i+1 starts, the last at size. */
export function planRanges(size: number, partSize: number, threshold: number): number[] {
  if (size === 0) return [];
  if (size < threshold || size <= partSize) return [0];
  const starts: number[] = [];
  for (let at = 0; at < size; at += partSize) starts.push(at);
  return starts;
}

/**
 * Where the ranged GETs of one object start. The bulk uses the configured part size; the last
 * stretch (one part per lane) is cut finer, because a digest has to read the file in order: when
 * the lanes finish together, whatever lies beyond the first unfinished range is hashed only after
 * the download, so smaller final ranges leave less to hash at the end.
 */
const MIN_TAIL_RANGE = 1024 * 1024;

/** Start offsets (ascending, first 0); range i ends where range i+1 starts, the last at size. */
export function planRanges(size: number, partSize: number, lanes: number, threshold: number): number[] {
  if (size === 0) return [];
  if (size < threshold || size <= partSize) return [0];
  const tailLen = Math.min(size, partSize * lanes);
  const bulkParts = Math.floor((size - tailLen) / partSize);
  const starts: number[] = [];
  for (let i = 0; i < bulkParts; i++) starts.push(i * partSize);
  const tailPart = Math.max(MIN_TAIL_RANGE, Math.floor(partSize / 4));
  for (let at = bulkParts * partSize; at < size; at += tailPart) starts.push(at);
  return starts;
}

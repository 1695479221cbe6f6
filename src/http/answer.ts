/**
 * Encodes an answer within MAX_RESPONSE_MB, in slices: a request whose answer would be larger
 * (many records with long error lines, documents echoed back) gets a 422 naming the limit instead
 * of a string too long for V8 ("Invalid string length", which used to surface as a 424 Backend)
 * or an event loop stalled while hundreds of megabytes are built.
 */
import { AppError } from '../errors';
import type { Slicer } from './slices';

export function answerTooLarge(maxBytes: number, at: string): AppError {
  const mb = +(maxBytes / 1024 / 1024).toFixed(3);
  return new AppError('Validation', `the answer would be larger than MAX_RESPONSE_MB=${mb} (${at}); send fewer records or documents, or ask for fewer results (top_n)`);
}

/** One JSON value, checked against the budget. */
export function encodeJson(value: unknown, maxBytes: number): string {
  const s = JSON.stringify(value);
  if (s.length > maxBytes || Buffer.byteLength(s) > maxBytes) throw answerTooLarge(maxBytes, 'one JSON answer');
  return s;
}

/** Lines joined with "\n" (and a final "\n"), each encoded by `encode`, stopping at the budget. */
export async function encodeLines<T>(items: readonly T[], encode: (item: T) => string, maxBytes: number, slicer: Slicer): Promise<string> {
  const parts = new Array<string>(items.length);
  let bytes = 0;
  for (let i = 0; i < items.length; i++) {
    const s = encode(items[i]!);
    // Length in UTF-16 units is a lower bound of the UTF-8 bytes; exact bytes only near the limit.
    bytes += s.length + 1;
    if (bytes > maxBytes) throw answerTooLarge(maxBytes, `at record ${i + 1} of ${items.length}`);
    parts[i] = s;
    if ((i & 255) === 0) await slicer.tick();
  }
  const out = parts.join('\n') + '\n';
  if (Buffer.byteLength(out) > maxBytes) throw answerTooLarge(maxBytes, `${items.length} records`);
  return out;
}

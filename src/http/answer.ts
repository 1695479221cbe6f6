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

/** Arrays longer than this are encoded element by element, with slice checks in between. */
const SLICED_ARRAY = 64;

function plainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

/**
 * One JSON value, exactly JSON.stringify's text, built in slices: JSON.stringify of a 60,000-item
 * answer held the event loop for 15 to 50 ms in one go. Large arrays are encoded an element at a
 * time (each element with JSON.stringify), and plain objects around them key by key, so the large
 * arrays of every answer shape (TEI's list, Cohere's results, /rerank/multi's results of up to 64
 * queries) are sliced; an element of a long array is bounded by the request size over its length.
 */
export async function encodeJsonSliced(value: unknown, maxBytes: number, slicer: Slicer): Promise<string> {
  const parts: string[] = [];
  let chars = 0;
  const push = (s: string): void => {
    chars += s.length;
    if (chars > maxBytes) throw answerTooLarge(maxBytes, 'one JSON answer');
    parts.push(s);
  };
  const write = async (v: unknown): Promise<void> => {
    if (Array.isArray(v)) {
      const long = v.length > SLICED_ARRAY;
      push('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) push(',');
        const el: unknown = v[i];
        // A short array's elements are walked (they may hold long arrays: /rerank/multi's results);
        // a long array's are answer items, each small, or bounded by the request size over its length.
        if (!long || (Array.isArray(el) && el.length > SLICED_ARRAY)) await write(el);
        else push(JSON.stringify(el) ?? 'null');
        if ((i & 255) === 255) await slicer.tick();
      }
      push(']');
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && plainObject(v)) {
      push('{');
      let first = true;
      for (const [k, x] of Object.entries(v)) {
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
        push(`${first ? '' : ','}${JSON.stringify(k)}:`);
        first = false;
        await write(x);
      }
      push('}');
    } else {
      push(JSON.stringify(v) ?? 'null');
    }
  };
  await write(value);
  const s = parts.join('');
  if (Buffer.byteLength(s) > maxBytes) throw answerTooLarge(maxBytes, 'one JSON answer');
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

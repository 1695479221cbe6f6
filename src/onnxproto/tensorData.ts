/**
 * Where an initializer's bytes are, from what onnxRead.ts recorded of it: raw_data inside the model
 * file, a range of an external data file, or (for a model held in memory) its fp32 values.
 */
import type { OnnxTensor } from './onnxRead';

export type TensorData =
  | { readonly kind: 'raw'; readonly offset: number; readonly length: number }
  | { readonly kind: 'external'; readonly location: string; readonly offset: number; readonly length?: number };

/** The external_data 'location' entries (file names relative to the model's folder). */
export function externalLocations(t: OnnxTensor): string[] {
  return t.externalData.filter((e) => e.key === 'location').map((e) => e.value);
}

/** A 'location' entry wins over raw_data; undefined when the tensor has neither (typed *_data fields). */
export function tensorData(t: OnnxTensor): TensorData | undefined {
  const ext: Record<string, string> = {};
  for (const e of t.externalData) ext[e.key] = e.value;
  if (ext.location !== undefined) {
    return { kind: 'external', location: ext.location, offset: Number(ext.offset ?? 0), ...(ext.length !== undefined ? { length: Number(ext.length) } : {}) };
  }
  return t.raw ? { kind: 'raw', offset: t.raw.start, length: t.raw.end - t.raw.start } : undefined;
}

/** An fp32 initializer's values from a model held in memory (copied, so alignment never matters). */
export function floatValues(bytes: Uint8Array, t: OnnxTensor): Float32Array {
  const b = t.raw
    ? bytes.subarray(t.raw.start, t.raw.end)
    : t.looseFloats
      ? new Uint8Array(Float32Array.from(t.looseFloats).buffer)
      : t.floatData && bytes.subarray(t.floatData.start, t.floatData.end);
  const count = t.dims.reduce((a, d) => a * d, 1);
  if (!b || b.length !== count * 4) throw new Error(`initializer ${t.name} holds ${b?.length ?? 0} bytes, expected ${count * 4} for dims [${t.dims.join(', ')}]`);
  const copy = new Uint8Array(b);
  return new Float32Array(copy.buffer, 0, count);
}

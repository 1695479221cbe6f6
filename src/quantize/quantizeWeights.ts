/**
 * Per-channel symmetric int8 quantization of a [K, N] weight matrix: one scale per output column
 * (max |w| / 127), zero point 0, values in [-127, 127]. Symmetric keeps the zero point out of the
 * integer kernels; per column keeps one large column from costing every other column its precision.
 */
export interface QuantizedWeight {
  /** [K, N] row-major, as the fp32 weight */
  readonly values: Int8Array;
  /** [N] */
  readonly scales: Float32Array;
}

/** w is [K, N] row-major; transposed: w is [N, K] (Gemm with transB=1) and the result is still [K, N]. */
export function quantizePerColumn(w: Float32Array, k: number, n: number, transposed = false): QuantizedWeight {
  const at = transposed ? (r: number, c: number): number => w[c * k + r]! : (r: number, c: number): number => w[r * n + c]!;
  const scales = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    let max = 0;
    for (let r = 0; r < k; r++) max = Math.max(max, Math.abs(at(r, c)));
    // An all-zero column: any scale reproduces it; 1 avoids a division by zero.
    scales[c] = max > 0 ? max / 127 : 1;
  }
  const values = new Int8Array(k * n);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const q = Math.round(at(r, c) / scales[c]!);
      values[r * n + c] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
  return { values, scales };
}

/** The largest |w - dequantized(w)| over the matrix: at most scale / 2 per column by construction. */
export function maxRoundingError(w: Float32Array, q: QuantizedWeight, k: number, n: number, transposed = false): number {
  let worst = 0;
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const orig = transposed ? w[c * k + r]! : w[r * n + c]!;
      worst = Math.max(worst, Math.abs(orig - q.values[r * n + c]! * q.scales[c]!));
    }
  }
  return worst;
}

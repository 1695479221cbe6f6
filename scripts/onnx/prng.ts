// Deterministic weights: the same seed and tensor name give the same floats on every machine.
// Only integer arithmetic and Math.fround are used, so the bytes never depend on libm.

/** mulberry32: a small 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string: seeds each tensor from its name, so adding a layer leaves the others unchanged. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

// Irwin-Hall with 4 uniforms: mean 2, variance 1/3; scaled to unit variance. Bounded (|x| < 3.47),
// normal enough for weights, and free of Math.log/Math.cos.
const SQRT3 = Math.sqrt(3);

/** A Float32Array of `n` normal-ish values with the given mean and standard deviation. */
export function normalTensor(n: number, std: number, seed: number, name: string, mean = 0): Float32Array {
  const rand = mulberry32(hashString(name, seed));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rand() + rand() + rand() + rand();
    out[i] = mean + (u - 2) * SQRT3 * std;
  }
  return out;
}

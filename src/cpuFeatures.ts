/**
 * The CPU's int8-relevant features (VNNI, AVX-512, AVX2, ARM64), read once from /proc/cpuinfo's
 * flags on Linux; other systems report the architecture only. MODEL_DTYPE=q8 picks its file by them.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { CpuFeatures } from './modelSpec/variants';

export function parseCpuFlags(cpuinfo: string, arch: string): CpuFeatures {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '';
  const flags = new Set(line.trim().split(/\s+/));
  return {
    arch,
    avx2: flags.has('avx2'),
    avx512: flags.has('avx512f') && flags.has('avx512bw'),
    // avx_vnni (VEX-encoded, Alder Lake and later) gives the same int8 dot products.
    vnni: flags.has('avx512_vnni') || flags.has('avx_vnni'),
  };
}

let cached: CpuFeatures | undefined;

export function detectCpuFeatures(): CpuFeatures {
  if (cached) return cached;
  let text = '';
  try {
    if (process.platform === 'linux') text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // A sandbox without /proc: the architecture alone.
  }
  cached = parseCpuFlags(text, os.arch());
  return cached;
}

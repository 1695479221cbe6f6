/** Tests use the development helpers that benchmarks share: scripts/dev/hostile.ts (one definition). */
export * from '../../scripts/dev/hostile';

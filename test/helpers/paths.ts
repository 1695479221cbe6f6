/** Tests use the development helpers that benchmarks share: scripts/dev/paths.ts (one definition). */
export * from '../../scripts/dev/paths';

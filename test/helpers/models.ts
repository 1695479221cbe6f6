/** Tests use the development helpers that benchmarks share: scripts/dev/models.ts (one definition). */
export * from '../../scripts/dev/models';

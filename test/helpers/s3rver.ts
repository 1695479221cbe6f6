/** Tests use the development helpers that benchmarks share: scripts/dev/s3rver.ts (one definition). */
export * from '../../scripts/dev/s3rver';

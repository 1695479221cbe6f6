/** Tests use the development helpers that benchmarks share: scripts/dev/server.ts (one definition). */
export * from '../../scripts/dev/server';

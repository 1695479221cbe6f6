/** Tests use the development helpers that benchmarks share: scripts/dev/tokenizer.ts (one definition). */
export * from '../../scripts/dev/tokenizer';

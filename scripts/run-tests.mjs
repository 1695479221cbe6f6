#!/usr/bin/env node
// Runs the compiled test files with Node's own test runner, one file at a time.
// Usage: node scripts/run-tests.mjs [unit|model|integration ...] [--grep pattern] [--verbose]
// Output: one line per test file, failures in full, and `tests: N passed, N failed, N skipped`
// (scripts/testReporter.mjs); --verbose prints Node's spec reporter instead (every test, diagnostics).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const grepAt = args.indexOf('--grep');
const grep = grepAt >= 0 ? args.splice(grepAt, 2)[1] : undefined;
const verboseAt = args.indexOf('--verbose');
const verbose = verboseAt >= 0 && args.splice(verboseAt, 1).length > 0;
const suites = args.length ? args : ['unit', 'model', 'integration'];

function walk(dir) {
  let out = [];
  let names = [];
  try { names = readdirSync(dir); } catch { return out; }
  for (const n of names.sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (n.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = suites.flatMap((s) => walk(join(root, 'dist', 'test', s))).filter((f) => !grep || f.includes(grep));
if (files.length === 0) {
  console.error('no test files found under dist/test; run `make build` first');
  process.exit(1);
}
const reporter = verbose ? 'spec' : join(root, 'scripts', 'testReporter.mjs');
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', `--test-reporter=${reporter}`, '--test-reporter-destination=stdout', ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(r.status ?? 1);

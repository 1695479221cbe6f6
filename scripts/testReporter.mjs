// A node:test reporter for `make test`: one line per test file, every failure in full (name path,
// error, stack), and a closing line CI reads: `tests: N passed, N failed, N skipped`.
// Used by scripts/run-tests.mjs; `--verbose` there switches back to Node's spec reporter.
import path from 'node:path';
import { inspect } from 'node:util';

const root = path.resolve(new URL('..', import.meta.url).pathname);
const rel = (file) => (file ? path.relative(path.join(root, 'dist', 'test'), file) : '(unknown file)');

function newFile(file) {
  return { file, passed: 0, failed: 0, skipped: 0, ms: 0, failures: [], stderr: [] };
}

function formatError(err) {
  if (!err) return '(no error)';
  // The runner wraps what a test threw in ERR_TEST_FAILURE; the cause is what the test saw.
  const inner = err.code === 'ERR_TEST_FAILURE' && err.cause ? err.cause : err;
  return inspect(inner, { depth: 6, colors: false, breakLength: 120 });
}

function fileLine(f) {
  const counts = [`${f.passed} passed`, f.failed ? `${f.failed} failed` : '', f.skipped ? `${f.skipped} skipped` : ''].filter(Boolean).join(', ');
  const status = f.failed ? 'FAIL' : 'ok  ';
  return `${status} ${rel(f.file).padEnd(44)} ${counts.padEnd(30)} ${(f.ms / 1000).toFixed(1).padStart(6)} s\n`;
}

export default async function* reporter(source) {
  const total = { passed: 0, failed: 0, skipped: 0, files: 0, failedFiles: [] };
  const started = Date.now();
  let current;
  const stack = [];

  function* flush() {
    if (!current) return;
    total.files++;
    total.passed += current.passed;
    total.failed += current.failed;
    total.skipped += current.skipped;
    if (current.failed) total.failedFiles.push(rel(current.file));
    yield fileLine(current);
    for (const f of current.failures) yield f;
    current = undefined;
  }

  for await (const event of source) {
    const d = event.data ?? {};
    if (!['test:start', 'test:pass', 'test:fail', 'test:stderr'].includes(event.type)) continue;
    if (d.file && (!current || current.file !== d.file)) {
      yield* flush();
      current = newFile(d.file);
      stack.length = 0;
    }
    current ??= newFile(d.file);
    if (event.type === 'test:start') {
      stack[d.nesting] = d.name;
      stack.length = d.nesting + 1;
      continue;
    }
    if (event.type === 'test:stderr') {
      // Kept for a file that fails as a whole (did not load, exited): its stderr is the only account.
      current.stderr.push(String(d.message ?? ''));
      if (current.stderr.length > 60) current.stderr.shift();
      continue;
    }
    if (d.nesting === 0) current.ms += d.details?.duration_ms ?? 0;
    const suite = d.details?.type === 'suite';
    const error = d.details?.error;
    if (event.type === 'test:pass') {
      if (suite) continue;
      if (d.skip !== undefined || d.todo !== undefined) current.skipped++;
      else current.passed++;
      continue;
    }
    // A suite whose children failed is reported through them; a failed hook or a file that did
    // not load is a failure of its own.
    if (suite && error?.failureType === 'subtestsFailed') continue;
    current.failed++;
    const name = [...stack.slice(0, d.nesting), d.name].join(' > ');
    const kind = error?.failureType && error.failureType !== 'testCodeFailure' ? ` (${error.failureType})` : '';
    const whole = d.nesting === 0 && d.name === d.file && current.stderr.length > 0;
    const text = whole ? current.stderr.join('').trimEnd() : formatError(error);
    const detail = error?.failureType === 'cancelledByParent' ? '' : text.replace(/^/gm, '      ') + '\n';
    current.failures.push(`  ✖ ${name}${kind}\n${detail}`);
  }
  yield* flush();
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (total.failedFiles.length) yield `\nfailed in: ${total.failedFiles.join(', ')}\n`;
  yield `\n${total.files} test files in ${secs} s\n`;
  yield `tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`;
}

/** `reranker inspect` as users run it: the compiled CLI on every fixture folder. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { describe, it, test } from 'node:test';
import { qwen3TokenizerDir } from '../../scripts/genDecoder';
import { CLI, sharedFixture } from '../helpers/paths';

const EXPECT: Array<[string, { task: string; family: string; maxInputLength: number; activation: string } | RegExp]> = [
  ['hf-configs/BAAI__bge-reranker-large', { task: 'reranker', family: 'xlm-roberta', maxInputLength: 512, activation: 'sigmoid' }],
  ['hf-configs/BAAI__bge-reranker-large/onnx_pr10', { task: 'reranker', family: 'xlm-roberta', maxInputLength: 512, activation: 'sigmoid' }],
  ['hf-configs/cross-encoder__ms-marco-MiniLM-L-6-v2', { task: 'reranker', family: 'bert', maxInputLength: 512, activation: 'identity' }],
  ['hf-configs/cross-encoder__ms-marco-MiniLM-L-6-v2/variants/st5-activation_fn', { task: 'reranker', family: 'bert', maxInputLength: 512, activation: 'identity' }],
  ['hf-configs/cross-encoder__ms-marco-MiniLM-L-6-v2/variants/transformers5', { task: 'reranker', family: 'bert', maxInputLength: 512, activation: 'identity' }],
  ['hf-configs/Qwen__Qwen3-Reranker-0.6B', /Qwen3ForCausalLM is a decoder LLM; missing tokenizer\.json/],
  ['hf-configs/dslim__bert-base-NER-uncased', /token classifier/],
  ['hf-configs/jinaai__jina-embeddings-v2-base-en', /embedding model/],
  ['onnx/opensearch__TinyXLMRoberta-CE-onnx', { task: 'reranker', family: 'roberta', maxInputLength: 62, activation: 'sigmoid' }],
  ['onnx/optimum__tiny-distilbert-classification', { task: 'classifier', family: 'distilbert', maxInputLength: 512, activation: 'softmax' }],
];

for (const [dir, expected] of EXPECT) {
  test(`reranker inspect ${dir}`, () => {
    const r = spawnSync(process.execPath, [CLI, 'inspect', sharedFixture(dir)], { encoding: 'utf8' });
    if (expected instanceof RegExp) {
      assert.notEqual(r.status, 0);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, 'a one-line refusal');
      assert.match(lines[0]!, expected);
      return;
    }
    // Exit 0 exactly when servable: config-only folders and a graph without tokenizer.json exit 1,
    // still printing the decided spec (and why it cannot be served) on stdout.
    const spec = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(r.status, spec.servable === true ? 0 : 1, r.stderr);
    assert.equal(spec.servable, dir === 'onnx/opensearch__TinyXLMRoberta-CE-onnx', String(spec.reason));
    for (const [k, v] of Object.entries(expected)) assert.equal(spec[k], v, k);
    assert.ok(Array.isArray(spec.evidence) && spec.evidence.length > 3);
  });
}

test('reranker with no folder or an unknown command exits 2 with usage', () => {
  assert.equal(spawnSync(process.execPath, [CLI, 'inspect'], { encoding: 'utf8' }).status, 2);
  const r = spawnSync(process.execPath, [CLI, 'frobnicate'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage:/);
});

test('reranker inspect on the onnxruntime-genai tiny Llama export: refused without overrides, yes/no with --score-tokens and --prompt-template', () => {
  const dir = path.join(qwen3TokenizerDir(), '..', 'hf-internal-testing__tiny-random-LlamaForCausalLM-fp16');
  const refused = spawnSync(process.execPath, [CLI, 'inspect', dir], { encoding: 'utf8' });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /causal-LM logits\) is a decoder LLM; no scoring tokens.*SCORE_TOKENS/);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-template-'));
  const template = path.join(tmp, 'score.jinja');
  fs.writeFileSync(template, 'Query: {{ (messages | selectattr("role", "eq", "query") | first).content }}\nDocument: {{ (messages | selectattr("role", "eq", "document") | first).content }}\nRelevant:');
  try {
    const r = spawnSync(process.execPath, [CLI, 'inspect', dir, '--score-tokens', '\u2581yes,\u2581no', '--prompt-template', template], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { task: string; scoring: { kind: string; tokens: Array<{ id: number }>; tokensSource: string } };
    assert.equal(report.scoring.kind, 'yes-no');
    assert.deepEqual(report.scoring.tokens.map((t) => t.id), [4874, 694]);
    assert.equal(report.scoring.tokensSource, 'override:SCORE_TOKENS');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('every subcommand answers --help with its own usage and exit 0; serve --help starts no server (issue 12, defect 8)', () => {
  for (const cmd of ['serve', 'inspect', 'upload', 'version']) {
    for (const flag of ['--help', '-h']) {
      const r = spawnSync(process.execPath, [CLI, cmd, flag], { encoding: 'utf8', timeout: 10_000, env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1' } });
      assert.equal(r.status, 0, `${cmd} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: reranker ${cmd}`), `${cmd} ${flag}`);
      assert.doesNotMatch(r.stdout + r.stderr, /listening/, `${cmd} ${flag} must not start anything`);
    }
  }
});

test('an unknown option or a missing value is one line plus the usage, exit 2', () => {
  for (const args of [['inspect', '--bogus', 'x'], ['upload', '-x', 'a', 'b'], ['serve', '--port', '1'], ['inspect', 'x', '--onnx']]) {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 2, args.join(' '));
    const [first, second] = r.stderr.split('\n');
    assert.match(first!, new RegExp(`^reranker ${args[0]}: (Unknown option|Option .* argument missing)`), args.join(' '));
    assert.doesNotMatch(first!, /To specify a positional/);
    assert.match(second!, new RegExp(`^usage: reranker ${args[0]}`));
  }
});

describe('start-up failures (issue 12, defect 9)', () => {
  const env = (extra: Record<string, string>): Record<string, string> => ({ PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', SM_MODEL_DIR: '/nonexistent/opt/ml/model', ...extra });
  const serve = (extra: Record<string, string>) => spawnSync(process.execPath, [CLI, 'serve'], { encoding: 'utf8', timeout: 30_000, env: env(extra) });

  it('every bad variable in one JSON log line; a plain line only with LOG_FORMAT=text', () => {
    const r = serve({ DEVICE: 'tpu', SAGEMAKER_BATCH: 'maybe' });
    assert.equal(r.status, 1);
    const lines = (r.stdout + r.stderr).trim().split('\n');
    assert.equal(lines.length, 1, lines.join('\n'));
    const rec = JSON.parse(lines[0]!) as { level: string; msg: string; problems: string[] };
    assert.equal(rec.level, 'error');
    assert.match(rec.msg, /^start-up failed: 2 invalid settings: /);
    assert.equal(rec.problems.length, 2);
    assert.match(rec.problems.join('\n'), /SAGEMAKER_BATCH="maybe": expected true, false, 1, 0, yes, no, on or off/);
    const text = serve({ DEVICE: 'tpu', LOG_FORMAT: 'text' });
    assert.equal(text.status, 1);
    assert.match(text.stderr, /^\S+ ERROR \[main\] start-up failed: invalid DEVICE="tpu"/);
  });

  it('a port in use names the port and the variable to set', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = await new Promise<{ status: number | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, [CLI, 'serve'], { env: env({ PORT: String(port) }) });
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.stderr.on('data', (d: Buffer) => (out += d.toString()));
        p.on('exit', (status) => resolve({ status, out }));
      });
      assert.equal(r.status, 1, r.out);
      assert.match(r.out, new RegExp(`start-up failed: port ${port} is already in use .*set PORT \\(or SAGEMAKER_BIND_TO_PORT`));
    } finally {
      busy.close();
    }
  });

  it('a MODEL_DIR that does not exist says so, and a failed start does not log draining or stopped', () => {
    const r = serve({ MODEL_DIR: '/nonexistent/model' });
    assert.equal(r.status, 1);
    const out = r.stdout + r.stderr;
    assert.match(out, /start-up failed: MODEL_DIR=\/nonexistent\/model does not exist/);
    assert.doesNotMatch(out, /draining|"msg":"stopped"/);
  });
});

/**
 * The yes/no scoring kind, decided from real files: Qwen3-Reranker-0.6B's own config and tokenizer
 * (../shared fixtures) give yes/no with the built-in template; the config alone names what is
 * missing; sentence-transformers' LogitScore module, a score template in the folder and the
 * SCORE_TOKENS / PROMPT_TEMPLATE / INSTRUCTION overrides each decide, with the evidence recorded.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSpec } from '../../src/modelSpec/buildSpec';
import { inspectModel } from '../../src/modelSpec/inspect';
import { parseScoreTemplate } from '../../src/tokenize/promptTemplates';
import { readModelFiles } from '../../src/modelSpec/readModelFiles';
import type { ModelSpec, SpecOverrides, SpecResult } from '../../src/modelSpec/types';
import { qwen3TokenizerDir, sharedDir } from '../../scripts/genDecoder';

const QWEN = qwen3TokenizerDir();
const TEMPLATES = path.join(sharedDir(), 'fixtures', 'llm-rerankers', 'vllm-project__vllm', 'score-templates');
const tmpDirs: string[] = [];
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A folder with the named Qwen3 files linked in, plus extra files. */
function folder(names: string[], extra: Record<string, string> = {}): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-yesno-'));
  tmpDirs.push(d);
  for (const n of names) fs.symlinkSync(path.join(QWEN, n), path.join(d, n));
  for (const [rel, text] of Object.entries(extra)) {
    fs.mkdirSync(path.dirname(path.join(d, rel)), { recursive: true });
    fs.writeFileSync(path.join(d, rel), text);
  }
  return d;
}

const ok = (r: SpecResult): ModelSpec => {
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.spec;
};
const source = (s: ModelSpec, field: string): string | undefined => s.evidence.find((e) => e.field === field)?.source;
const specOf = async (dir: string, o: SpecOverrides = {}): Promise<SpecResult> => buildSpec(await readModelFiles(dir), o);

describe('yes/no scoring decisions', { skip: !fs.existsSync(path.join(QWEN, 'tokenizer.json')) && 'no ../shared fixtures' }, () => {
  test('inspect on the real Qwen3-Reranker-0.6B config + tokenizer: yes-no with the built-in template, ids 9693/2152, last prompt id 271', async () => {
    const r = await inspectModel(QWEN);
    assert.equal(r.exitCode, 1, 'decided, but no .onnx file: not servable (exit 0 only when servable)');
    const report = JSON.parse(r.output) as Record<string, any>;
    assert.equal(report.task, 'reranker');
    assert.equal(report.servable, false);
    assert.match(report.reason, /^no \.onnx file found/);
    assert.equal(report.maxInputLength, 8192);
    assert.equal(report.scoring.kind, 'yes-no');
    assert.deepEqual(report.scoring.tokens, [{ token: 'yes', id: 9693 }, { token: 'no', id: 2152 }]);
    assert.equal(report.scoring.template.name, 'qwen3-reranker');
    assert.deepEqual(report.scoring.template.lastIds, [271, 151668, 271]);
    assert.equal(report.scoring.template.prefixTokens, 39);
    assert.match(report.scoring.instruction, /^Given a web search query/);
    assert.ok((report.warnings as string[]).some((w) => /assumed the qwen3-reranker prompt .*PROMPT_TEMPLATE/.test(w)));
  });

  test('config.json alone: refused, saying tokenizer.json is missing and naming the overrides', async () => {
    const r = await inspectModel(folder(['config.json']));
    assert.equal(r.exitCode, 1);
    assert.match(r.output, /^refused: config\.json architectures Qwen3ForCausalLM is a decoder LLM; missing tokenizer\.json/);
    assert.match(r.output, /MODEL_TASK=reranker with SCORE_TOKENS=.*PROMPT_TEMPLATE=.*INSTRUCTION/);
  });

  test('a causal LM of no known family is refused with the overrides; with them it is served as yes/no', async () => {
    const llama = JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama', max_position_embeddings: 4096 });
    const dir = folder(['tokenizer.json', 'tokenizer_config.json'], { 'config.json': llama });
    const refused = await specOf(dir);
    assert.ok(!refused.ok);
    assert.match(refused.reason, /LlamaForCausalLM is a decoder LLM; no scoring tokens.*SCORE_TOKENS/);
    const template = parseScoreTemplate(fs.readFileSync(path.join(TEMPLATES, 'qwen3_reranker.jinja'), 'utf8'), 'file:qwen3_reranker.jinja');
    const s = ok(await specOf(dir, { task: 'reranker', scoreTokens: ['yes', 'no'], promptTemplate: template, instruction: 'Rank by relevance' }));
    assert.deepEqual(s.yesNo?.tokens, [{ token: 'yes', id: 9693 }, { token: 'no', id: 2152 }]);
    assert.equal(source(s, 'scoreTokens'), 'override:SCORE_TOKENS');
    assert.match(source(s, 'promptTemplate')!, /^override:PROMPT_TEMPLATE/);
    assert.equal(s.yesNo?.instruction, 'Rank by relevance');
    assert.equal(source(s, 'instruction'), 'override:INSTRUCTION');
    const bad = await specOf(dir, { scoreTokens: ['definitely-not-a-token'], promptTemplate: template });
    assert.ok(!bad.ok && /token 'definitely-not-a-token' is not a single token/.test(bad.reason));
  });

  test('one scoring token: the raw logit (identity), as bge-reranker-v2-gemma scores "Yes"', async () => {
    const s = ok(await specOf(folder(['config.json', 'tokenizer.json', 'tokenizer_config.json']), { scoreTokens: ['yes'] }));
    assert.equal(s.yesNo?.tokens.length, 1);
    assert.equal(s.activation, 'identity');
  });

  test("sentence-transformers' LogitScore module and prompts decide tokens and instruction", async () => {
    const dir = folder(['config.json', 'tokenizer.json', 'tokenizer_config.json'], {
      'modules.json': JSON.stringify([
        { idx: 0, name: '0', path: '', type: 'sentence_transformers.base.modules.Transformer' },
        { idx: 1, name: '1', path: '1_LogitScore', type: 'sentence_transformers.cross_encoder.modules.LogitScore' },
      ]),
      '1_LogitScore/config.json': JSON.stringify({ true_token_id: 9693, false_token_id: 2152, module_input_name: 'causal_logits' }),
      'config_sentence_transformers.json': JSON.stringify({ prompts: { query: 'Given a question, find the answer' }, default_prompt_name: 'query', activation_fn: 'torch.nn.modules.linear.Identity' }),
    });
    const s = ok(await specOf(dir));
    assert.deepEqual(s.yesNo?.tokens, [{ token: 'yes', id: 9693 }, { token: 'no', id: 2152 }]);
    assert.match(s.yesNo!.tokensSource, /1_LogitScore\/config\.json true_token_id\/false_token_id/);
    assert.equal(s.yesNo?.instruction, 'Given a question, find the answer');
    assert.equal(source(s, 'instruction'), 'config_sentence_transformers.json:prompts.query');
    assert.equal(s.activation, 'identity', 'the stored activation_fn wins: scores are the log-odds, as sentence-transformers returns them');
  });

  test('a score template file in the folder wins over the built-in one', async () => {
    const text = fs.readFileSync(path.join(TEMPLATES, 'qwen3_reranker.jinja'), 'utf8');
    const s = ok(await specOf(folder(['config.json', 'tokenizer.json', 'tokenizer_config.json'], { 'qwen3_reranker.jinja': text })));
    assert.equal(s.yesNo?.template.name, 'file:qwen3_reranker.jinja');
    assert.equal(s.yesNo?.templateSource, 'qwen3_reranker.jinja (score template)');
    assert.ok(!s.warnings.some((w) => /assumed the/.test(w)), 'no assumption warning when the folder says');
  });

  test('MODEL_TASK=classifier keeps a causal LM out of the yes/no route (and the graph-less config stays refused)', async () => {
    const r = await specOf(QWEN, { task: 'classifier' });
    assert.ok(r.ok ? r.spec.yesNo === undefined : true);
  });
});

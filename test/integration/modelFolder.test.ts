/**
 * One reader of the model folder, end to end on the real server (issue 12, defects 1 and 2):
 * a model whose every file is under onnx/ starts and scores, the tokenizer workers load exactly
 * the onnx/tokenizer.json the spec was built from, and the tokenizer's truncation_side is the
 * default truncation direction.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { copyToTemp, ensureModel } from '../helpers/models';
import { postJson, startServer, type TestServer } from '../helpers/server';

const QUERY = 'what is the capital of france';
// Long enough that MAX_INPUT_LENGTH=24 cuts it: which end is cut changes the score.
const DOC = 'paris is the capital and largest city of france. ' + 'the stock market closed higher today after a long week of trading. '.repeat(4);

describe('a model with every file under onnx/ and truncation_side left', () => {
  let s: TestServer;
  let dir = '';
  before(async () => {
    dir = copyToTemp(await ensureModel({ preset: 'tiny', layout: 'onnx' }));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt']) {
      fs.renameSync(path.join(dir, f), path.join(dir, 'onnx', f));
    }
    const cfgFile = path.join(dir, 'onnx', 'tokenizer_config.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), truncation_side: 'left' }));
    fs.rmSync(path.join(dir, '.complete'));
    assert.deepEqual(fs.readdirSync(dir), ['onnx']);
    s = await startServer({ env: { MODEL_DIR: dir, MAX_INPUT_LENGTH: '24' } });
  });
  after(async () => {
    await s?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts and scores; /info shows the files read under onnx/ and the pair template', async () => {
    const info = (await (await fetch(`${s.url}/info`)).json()) as { spec: { onnxFile: string; truncationSide: string; pairTemplate: { source: string }; evidence: Array<{ field: string; source: string }> } };
    assert.equal(info.spec.onnxFile, 'onnx/model.onnx');
    assert.equal(info.spec.truncationSide, 'left');
    assert.match(info.spec.pairTemplate.source, /TemplateProcessing/);
    assert.ok(info.spec.evidence.some((e) => e.field === 'pairTemplate' && e.source.startsWith('onnx/tokenizer.json')), JSON.stringify(info.spec.evidence));
    const files = (info as unknown as { files: { filesRead: Record<string, string>; onnxFiles: Array<{ path: string; bytes: number }> } }).files;
    assert.deepEqual([files.filesRead.tokenizerJson, files.filesRead.config], ['onnx/tokenizer.json', 'onnx/config.json']);
    assert.equal(files.onnxFiles.length, 1);
    assert.equal(files.onnxFiles[0]!.path, 'onnx/model.onnx');
    assert.ok(files.onnxFiles[0]!.bytes > 1000);
    const r = await postJson(`${s.url}/rerank`, { query: QUERY, texts: ['paris', 'berlin'], raw_scores: true });
    assert.equal(r.status, 200, r.text);
  });

  it('says on the ready line which defaults change scores', () => {
    const ready = s.logs.find((l) => /"msg":"ready"/.test(l));
    assert.ok(ready, 'a ready line');
    assert.match(ready, /"spec_warnings":\[[^\]]*scores use sigmoid, the default for 1 logit/);
  });

  it("truncates from the tokenizer's side when the request does not say", async () => {
    const score = async (extra: Record<string, unknown>): Promise<number> => {
      const r = await postJson(`${s.url}/rerank`, { query: QUERY, texts: [DOC], raw_scores: true, ...extra });
      assert.equal(r.status, 200, r.text);
      return (r.json as Array<{ score: number }>)[0]!.score;
    };
    const [unsaid, left, right] = [await score({}), await score({ truncation_direction: 'left' }), await score({ truncation_direction: 'right' })];
    assert.notEqual(left, right, 'the document is long enough for the side to matter');
    assert.equal(unsaid, left);
  });
});

/**
 * buildSpec rules on small hand-written configs: max length candidates, sides, freezing, family.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec } from '../../src/modelSpec/buildSpec';
import type { ModelSpec, SpecResult } from '../../src/modelSpec/types';

function ok(r: SpecResult): ModelSpec {
  if (!r.ok) assert.fail(`expected a spec, got refusal: ${r.reason}`);
  return r.spec;
}

function source(spec: ModelSpec, field: string): string | undefined {
  return spec.evidence.find((e) => e.field === field)?.source;
}

test('max length: sentinels ignored, tokenizer limit above the table warns, none stated -> 512 with a warning', () => {
  const config = { architectures: ['BertForSequenceClassification'], model_type: 'bert', id2label: { '0': 'LABEL_0' }, max_position_embeddings: 512 };
  const big = ok(buildSpec({ dir: '/v', listing: [], config, tokenizerConfig: { model_max_length: 1024 } }));
  assert.equal(big.maxInputLength, 512);
  assert.ok(big.warnings.some((w) => /tokenizer_config\.json:model_max_length \(1024\) is larger than the position table/.test(w)));
  const sentinel = ok(buildSpec({ dir: '/v', listing: [], config, tokenizerConfig: { model_max_length: 1e30 }, sentenceBertConfig: { max_seq_length: 256 } }));
  assert.equal(sentinel.maxInputLength, 256);
  assert.equal(source(sentinel, 'maxInputLength'), 'sentence_bert_config.json:max_seq_length');
  const none = ok(buildSpec({ dir: '/v', listing: [], config: { architectures: ['BertForSequenceClassification'], num_labels: 1 } }));
  assert.equal(none.maxInputLength, 512);
  assert.equal(source(none, 'maxInputLength'), 'default 512');
  assert.deepEqual(none.labels, ['LABEL_0']);
});

test('padding and truncation sides from tokenizer_config.json; a spec is deeply frozen', () => {
  const spec = ok(
    buildSpec({
      dir: '/v',
      listing: [],
      config: { architectures: ['XLMRobertaForSequenceClassification'], model_type: 'xlm-roberta', num_labels: 1, pad_token_id: 1, max_position_embeddings: 514 },
      tokenizerConfig: { padding_side: 'left', truncation_side: 'left' },
    }),
  );
  assert.equal(spec.paddingSide, 'left');
  assert.equal(spec.truncationSide, 'left');
  assert.equal(source(spec, 'truncationSide'), 'tokenizer_config.json:truncation_side');
  assert.ok(Object.isFrozen(spec) && Object.isFrozen(spec.labels) && Object.isFrozen(spec.evidence[0]));
  assert.throws(() => {
    (spec as { task: string }).task = 'classifier';
  }, TypeError);
});

test('family: JinaBert by auto_map alone; a Jina XLM-RoBERTa (rotary) is xlm-roberta, not jina-bert', () => {
  const jinaBert = ok(buildSpec({
    dir: '/v',
    listing: [],
    config: { architectures: ['BertForSequenceClassification'], model_type: 'bert', num_labels: 1, auto_map: { AutoModelForSequenceClassification: 'jinaai/jina-bert-implementation--modeling_bert.JinaBertForSequenceClassification' } },
  }));
  assert.equal(jinaBert.family, 'jina-bert');
  assert.equal(jinaBert.evidence.find((e) => e.field === 'family')?.source, 'config.json:auto_map');
  const v2 = ok(buildSpec({
    dir: '/v',
    listing: [],
    config: {
      architectures: ['XLMRobertaForSequenceClassification'],
      model_type: 'xlm-roberta',
      position_embedding_type: 'rotary',
      num_labels: 1,
      pad_token_id: 1,
      max_position_embeddings: 1026,
      auto_map: { AutoModelForSequenceClassification: 'jinaai/jina-xlm-roberta--modeling_xlm_roberta.XLMRobertaForSequenceClassification' },
    },
  }));
  assert.deepEqual([v2.family, v2.positionEmbedding, v2.maxInputLength], ['xlm-roberta', 'rotary', 1024]);
});

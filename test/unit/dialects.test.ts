/**
 * The /invocations dialect rule (docs/api.md): which API a JSON body speaks, from its shape alone,
 * first match wins; a body that matches none is a 422 that lists every accepted shape.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../src/errors';
import { ACCEPTED_SHAPES, DIALECTS, isHfPairsInput, pickDialect } from '../../src/http/dialects';

const Q = 'What is the capital of France?';
const D = 'Paris is the capital and largest city of France.';

function dialectOf(body: unknown): string {
  return pickDialect(body).name;
}

describe('dialect detection', () => {
  it('{query, texts} is TEI rerank; {query, documents} is Cohere / Jina', () => {
    assert.equal(dialectOf({ query: Q, texts: [D] }), 'tei-rerank');
    assert.equal(dialectOf({ query: Q, documents: [D] }), 'cohere-rerank');
    assert.equal(dialectOf({ query: Q, documents: [{ text: D, id: 7 }], return_documents: true, model: 'x' }), 'cohere-rerank');
    // Both keys: texts is checked first (the TEI shape is the native one).
    assert.equal(dialectOf({ query: Q, texts: [D], documents: [D] }), 'tei-rerank');
    // {queries, documents} is the many-query shape; a stray `query` keeps the Cohere reading.
    assert.equal(dialectOf({ queries: [Q, Q], documents: [D] }), 'multi-rerank');
    assert.equal(dialectOf({ query: Q, queries: [Q], documents: [D] }), 'cohere-rerank');
    // A wrong type is still routed by its keys, so the 422 comes from that dialect's schema.
    assert.equal(dialectOf({ query: Q, texts: 'not a list' }), 'tei-rerank');
  });

  it('{inputs} of [q, d] pairs or {text, text_pair} objects is the Hugging Face toolkit', () => {
    assert.equal(dialectOf({ inputs: [[Q, D]] }), 'hf-pairs');
    assert.equal(dialectOf({ inputs: [[Q, D], [Q, 'other']] }), 'hf-pairs');
    assert.equal(dialectOf({ inputs: [{ text: Q, text_pair: D }] }), 'hf-pairs');
    assert.equal(dialectOf({ inputs: { text: Q, text_pair: D } }), 'hf-pairs');
    assert.equal(dialectOf({ inputs: [[Q, D], { text: Q, text_pair: D }], parameters: { top_k: null } }), 'hf-pairs');
    // An object with text but a bad text_pair still goes to HF, whose schema names the problem.
    assert.equal(dialectOf({ inputs: [{ text: Q, text_pair: 3 }] }), 'hf-pairs');
  });

  it('every other {inputs} is TEI predict, which keeps its own single pair and batches', () => {
    assert.equal(dialectOf({ inputs: Q }), 'tei-predict');
    assert.equal(dialectOf({ inputs: [Q, D] }), 'tei-predict', 'one [text, text_pair] pair');
    assert.equal(dialectOf({ inputs: [Q] }), 'tei-predict');
    assert.equal(dialectOf({ inputs: [[Q], [Q, D]] }), 'tei-predict', 'a mixed batch is not all pairs');
    assert.equal(dialectOf({ inputs: [[Q, D], Q] }), 'tei-predict');
    assert.equal(dialectOf({ inputs: [] }), 'tei-predict', 'empty: TEI predict answers 400 Empty');
    assert.equal(dialectOf({ inputs: [[Q, D, 'third']] }), 'tei-predict');
  });

  it('isHfPairsInput needs every element to be a string pair or a text object', () => {
    assert.equal(isHfPairsInput([[Q, D]]), true);
    assert.equal(isHfPairsInput([[Q, 1]]), false);
    assert.equal(isHfPairsInput([null]), false);
    assert.equal(isHfPairsInput({ text_pair: D }), false);
    assert.equal(isHfPairsInput(null), false);
  });

  it('a body that matches no shape is a 422 listing every accepted shape', () => {
    for (const body of [{ foo: 1 }, { query: Q }, { documents: [D] }, [1, 2], 'text', null, 3]) {
      assert.throws(
        () => pickDialect(body),
        (e: unknown) => {
          assert.ok(e instanceof AppError);
          assert.equal(e.status, 422);
          for (const d of DIALECTS) assert.ok(e.message.includes(d.shape), `${JSON.stringify(body)}: ${e.message}`);
          return true;
        },
      );
    }
    assert.equal(DIALECTS.length, 5);
    for (const name of ['TEI rerank', 'Cohere / Jina rerank', 'many queries', 'Hugging Face toolkit pairs', 'TEI predict']) assert.ok(ACCEPTED_SHAPES.includes(name));
  });
});

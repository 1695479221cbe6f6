/**
 * The `scoring` section of `reranker inspect`: the decision, plus what the prompt's fixed parts
 * encode to with the folder's own tokenizer (first and last ids), so a wrong template or a dropped
 * final newline (last id 198 instead of 271 for Qwen3) shows before the server starts.
 */
import { messageOf } from '../errors';
import { PairEncoder } from '../tokenize/pairEncoder';
import { PromptEncoder } from '../tokenize/promptEncoder';
import type { ModelFiles, ModelSpec } from './types';

export async function scoringReport(spec: ModelSpec, files: ModelFiles): Promise<Record<string, unknown>> {
  const y = spec.yesNo;
  if (!y) return { kind: 'classification-head', instruction: 'not supported (a request\'s instruction is ignored)' };
  let ids: Record<string, unknown> = {};
  if (files.tokenizerJson) {
    try {
      const p = new PromptEncoder(await PairEncoder.create(files.tokenizerJson, files.tokenizerConfig), y.template);
      const s = p.summary();
      ids = { prefixTokens: s.prefixTokens, suffixTokens: s.suffixTokens, firstIds: s.firstIds, lastIds: s.lastIds };
    } catch (e) {
      ids = { tokenizerError: messageOf(e) };
    }
  }
  return {
    kind: 'yes-no',
    layout: y.layout,
    tokens: y.tokens,
    tokensSource: y.tokensSource,
    template: { name: y.template.name, source: y.templateSource, ...ids },
    instruction: y.instruction ?? null,
    instructionSource: y.instructionSource ?? (y.instruction === undefined ? 'the template has no instruction slot' : null),
  };
}

/**
 * The `scoring` block of GET /info: how a pair becomes a score. For decoder LLM rerankers: the
 * yes/no tokens and where they came from, the prompt template (its source and the first and last
 * ids it produces), the default instruction, and whether the graph was rewritten; for other models,
 * that a request's `instruction` is ignored.
 */
import type { YesNoGraphInfo } from '../engine/yesNoGraph';
import type { ModelSpec } from '../modelSpec/types';

export function scoringInfo(spec: ModelSpec, graph: YesNoGraphInfo | undefined): Record<string, unknown> {
  const y = spec.yesNo;
  if (!y) {
    return { kind: 'classification-head', instruction: { supported: false, note: 'this model has no prompt; a request\'s instruction is ignored' } };
  }
  return {
    kind: 'yes-no',
    layout: y.layout,
    formula: y.tokens.length === 2 ? `logit[${y.tokens[0]!.token}] - logit[${y.tokens[1]!.token}] at the last token, then ${spec.activation}` : `logit[${y.tokens[0]!.token}] at the last token, then ${spec.activation}`,
    tokens: y.tokens,
    tokens_source: y.tokensSource,
    template: {
      name: y.template.name,
      source: y.templateSource,
      ...(graph?.promptIds ? { prefix_tokens: graph.promptIds.prefixTokens, suffix_tokens: graph.promptIds.suffixTokens, first_ids: graph.promptIds.firstIds, last_ids: graph.promptIds.lastIds } : {}),
    },
    instruction:
      y.instruction !== undefined
        ? { supported: true, default: y.instruction, source: y.instructionSource }
        : { supported: false, note: `the ${y.template.name} template has no instruction slot; a request's instruction is ignored` },
    ...(graph ? { graph: { rewritten: graph.rewritten, detail: graph.detail, ...(graph.cached !== undefined ? { cached: graph.cached } : {}), ...(graph.maxBatchTokens !== undefined ? { max_batch_tokens_cap: graph.maxBatchTokens } : {}) } } : {}),
  };
}

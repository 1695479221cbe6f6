/**
 * Spec types of decoder LLM rerankers (the "yes-no" scoring kind): what the tokenizer needs (the
 * prompt template and instruction), what the engine needs (the scoring token ids, the extra decoder
 * inputs, what the graph outputs), and where each came from.
 */
import type { PromptTemplate } from '../tokenize/promptTemplates';

export interface ScoreToken {
  readonly token: string;
  readonly id: number;
}

/** Inputs a decoder export declares besides input_ids / attention_mask; the engine fills them. */
export interface DecoderInputs {
  readonly positionIds?: string;
  /** past_key_values.*: fed with a zero-length past axis. dims: [batch, kv heads, 0, head dim]. */
  readonly past: ReadonlyArray<{ readonly name: string; readonly type: 'float32' | 'float16'; readonly kvHeads: number; readonly headDim: number }>;
  /** merged decoders: fed false (no cache branch) */
  readonly useCacheBranch?: string;
}

export interface YesNoSpec {
  /** 'causal-lm': logits [batch, seq, vocab] (rewritten at load time); 'seq-cls': a converted [batch, 1] score head. */
  readonly layout: 'causal-lm' | 'seq-cls';
  /** [true] or [true, false]: score = logit[true] - logit[false], or logit[true] alone. */
  readonly tokens: readonly ScoreToken[];
  readonly tokensSource: string;
  readonly template: PromptTemplate;
  readonly templateSource: string;
  /** Default instruction; undefined when the template has no instruction slot (requests' `instruction` is ignored). */
  readonly instruction?: string;
  readonly instructionSource?: string;
}

/** Files only decoder rerankers use, read beside the usual ones. */
export interface DecoderFiles {
  /** sentence-transformers LogitScore (or older CausalScoreHead) module and its config.json */
  readonly scoreModule?: { readonly type: string; readonly path: string; readonly config?: Record<string, unknown> };
  /** *.jinja files at the top level (vLLM score templates, chat_template.jinja), with their text */
  readonly jinja: ReadonlyArray<{ readonly file: string; readonly text: string }>;
}

/**
 * Prompt templates of decoder LLM rerankers (scored by the next-token logits of "yes"/"no" after a
 * prompt): the built-in family templates, and a reader for vLLM-style score template files.
 *
 * A template is three literal strings, kept as the reference code keeps them: prefix + body + suffix,
 * where only the body holds {instruction}, {query} and {document}. The reference tokenizes the
 * three separately and truncates only the body's ids, so the prefix and suffix always survive.
 * The strings are written out here, not rendered by a Jinja engine: rendering drops a final
 * newline and turns Qwen3's last token 271 ("\n\n") into 198 ("\n") (NOTES.md of the fixtures).
 */
export interface PromptTemplate {
  /** 'qwen3-reranker', 'mxbai-rerank-v2', 'bge-reranker-v2-gemma', or 'file:<path>' */
  readonly name: string;
  readonly prefix: string;
  /** Holds {document} once; {query} and {instruction} at most once each. */
  readonly body: string;
  readonly suffix: string;
  /** The instruction used when a request gives none; undefined: the template has no instruction slot. */
  readonly defaultInstruction?: string;
  /**
   * The body as the reference tokenizes it, in parts each tokenized on its own (their join is
   * `body`); absent: the body is tokenized as one text. Token merges never cross a part boundary,
   * so "?\n" stays two tokens where the reference keeps them apart.
   */
  readonly parts?: readonly string[];
  /**
   * An instruction line put before the part holding {query} only when the instruction is not empty
   * (mxbai-rerank-v2: "instruction: {instruction}\n"); its template has defaultInstruction ''.
   */
  readonly instructionLine?: string;
  /**
   * The part holding {query} keeps at most this fraction of the tokens the variable parts may use
   * (the references cut the query to 3/4 of max_length before they cut the document).
   */
  readonly queryShare?: number;
}

/** A built-in family: its template and its scoring tokens ([true] or [true, false]). */
export interface PromptFamily {
  readonly template: PromptTemplate;
  readonly tokens: readonly [string] | readonly [string, string];
  /** model_type values of its base model */
  readonly modelTypes: readonly string[];
  /** Tokens that must be in the vocabulary for the family to be assumed (besides the scoring tokens). */
  readonly chatTokens: readonly string[];
  readonly source: string;
}

const QWEN3_JUDGE =
  'Judge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".';

const MXBAI_TASK =
  'You are a search relevance expert who evaluates how well documents match search queries. ' +
  'For each query-document pair, carefully analyze the semantic relationship between them, then provide your binary relevance judgment (0 for not relevant, 1 for relevant).\nRelevance:';

const GEMMA_PROMPT = "Given a query A and a passage B, determine whether the passage contains an answer to the query by providing a prediction of either 'Yes' or 'No'.";

export const FAMILIES: readonly PromptFamily[] = [
  {
    // Qwen/Qwen3-Reranker-* model card (transformers snippet): single newlines in the body.
    template: {
      name: 'qwen3-reranker',
      prefix: `<|im_start|>system\n${QWEN3_JUDGE}<|im_end|>\n<|im_start|>user\n`,
      body: '<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}',
      suffix: '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
      defaultInstruction: 'Given a web search query, retrieve relevant passages that answer the query',
    },
    tokens: ['yes', 'no'],
    modelTypes: ['qwen3'],
    chatTokens: ['<|im_start|>', '<|im_end|>', '<think>', '</think>'],
    source: 'Qwen3-Reranker model card (official transformers usage)',
  },
  {
    // mixedbread-ai/mxbai-rerank, mxbai_rerank/mxbai_rerank_v2.py (MxbaiRerankV2): chat prefix and
    // suffix around [instruction line +] query, "\n", "document: …", "\n", the task prompt, each
    // tokenized alone; score logit("1") - logit("0") at the last position. vLLM's
    // mxbai_rerank_v2.jinja has the same text but tokenizes it whole.
    template: {
      name: 'mxbai-rerank-v2',
      prefix: '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n',
      body: `query: {query}\ndocument: {document}\n${MXBAI_TASK}`,
      parts: ['query: {query}', '\n', 'document: {document}', '\n', MXBAI_TASK],
      suffix: '<|im_end|>\n<|im_start|>assistant\n',
      defaultInstruction: '',
      instructionLine: 'instruction: {instruction}\n',
      queryShare: 3 / 4,
    },
    tokens: ['1', '0'],
    modelTypes: ['qwen2'],
    chatTokens: ['<|im_start|>', '<|im_end|>'],
    source: 'mixedbread-ai/mxbai-rerank (mxbai_rerank_v2.py)',
  },
  {
    // FlagOpen/FlagEmbedding, FlagEmbedding/inference/reranker/decoder_only/base.py (BaseLLMReranker,
    // what FlagLLMReranker runs): <bos> + "A: " + query, "\n", "B: " + passage, "\n", the prompt,
    // each tokenized alone, nothing after the prompt; score = the raw logit of "Yes" at the last
    // position (sigmoid only with normalize=True). vLLM's bge-reranker-v2-gemma.jinja has the same
    // text without <bos>.
    template: {
      name: 'bge-reranker-v2-gemma',
      prefix: '<bos>',
      body: `A: {query}\nB: {document}\n${GEMMA_PROMPT}`,
      parts: ['A: {query}', '\n', 'B: {document}', '\n', GEMMA_PROMPT],
      suffix: '',
      queryShare: 3 / 4,
    },
    tokens: ['Yes'],
    modelTypes: ['gemma'],
    chatTokens: ['<bos>'],
    source: 'FlagOpen/FlagEmbedding (decoder_only/base.py, FlagLLMReranker)',
  },
];

/**
 * Reads a vLLM-style score template (Jinja) into prefix/body/suffix. Only the shape those files use
 * is understood: `{{ … }}` expressions naming the "query" or "document" message, or an instruction
 * (`instruction`, `instruct` or the system message, with an optional `default("…")`). The prefix
 * ends where the line of the first expression starts, the suffix starts after the last one. The
 * file's bytes are kept as they are, final newlines included.
 */
export function parseScoreTemplate(text: string, name: string): PromptTemplate {
  const exprs = [...text.matchAll(/\{\{([\s\S]*?)\}\}/g)];
  if (/\{%/.test(text)) throw new Error(`${name}: Jinja statements ({% … %}) are not supported in a score template; use {{ … }} expressions only`);
  let defaultInstruction: string | undefined;
  let filled = '';
  let at = 0;
  const seen = new Set<string>();
  for (const m of exprs) {
    const expr = m[1]!;
    let slot: string;
    if (/["']document["']/.test(expr)) slot = 'document';
    else if (/\binstruct(ion)?\b|["']system["']/.test(expr)) {
      slot = 'instruction';
      const d = /default\(\s*"((?:[^"\\]|\\.)*)"|default\(\s*'((?:[^'\\]|\\.)*)'/.exec(expr);
      if (d) defaultInstruction = (d[1] ?? d[2])!.replace(/\\(.)/g, '$1');
      else defaultInstruction ??= '';
    } else if (/["']query["']/.test(expr)) slot = 'query';
    else throw new Error(`${name}: cannot tell what {{${expr}}} stands for (expected the query, the document or an instruction)`);
    if (seen.has(slot)) throw new Error(`${name}: {${slot}} appears twice`);
    seen.add(slot);
    filled += text.slice(at, m.index) + `{${slot}}`;
    at = m.index! + m[0].length;
  }
  filled += text.slice(at);
  if (!seen.has('document') || !seen.has('query')) throw new Error(`${name}: a score template must place both the query and the document`);
  const first = Math.min(...['{instruction}', '{query}', '{document}'].map((s) => filled.indexOf(s)).filter((i) => i >= 0));
  const lineStart = filled.lastIndexOf('\n', first - 1) + 1;
  const lastSlot = Math.max(...['{instruction}', '{query}', '{document}'].map((s) => { const i = filled.lastIndexOf(s); return i < 0 ? -1 : i + s.length; }));
  return {
    name,
    prefix: filled.slice(0, lineStart),
    body: filled.slice(lineStart, lastSlot),
    suffix: filled.slice(lastSlot),
    ...(defaultInstruction !== undefined ? { defaultInstruction } : {}),
  };
}

/** The body with its slots filled; the document is split out so it can be truncated alone. */
export function fillBody(t: PromptTemplate, query: string, instruction: string | undefined): { head: string; tail: string } {
  const at = t.body.indexOf('{document}');
  return { head: fillSlots(t, t.body.slice(0, at), query, instruction), tail: fillSlots(t, t.body.slice(at + '{document}'.length), query, instruction) };
}

/**
 * The body as separately tokenized parts, filled: `before` and `after` are whole parts around the
 * one holding {document}, which is split into the text before and after the document (tokenized
 * with it). A template without parts is one part. `query` is the index in `before` of the part
 * holding {query} (-1 when it is not before the document).
 */
export interface BodyParts {
  readonly before: string[];
  readonly docHead: string;
  readonly docTail: string;
  readonly after: string[];
  readonly query: number;
}

export function bodyParts(t: PromptTemplate, query: string, instruction: string | undefined): BodyParts {
  const parts = t.parts ?? [t.body];
  const k = parts.findIndex((p) => p.includes('{document}'));
  const line = t.instructionLine !== undefined && instruction ? fillSlots(t, t.instructionLine, query, instruction) : '';
  const fill = (p: string): string => (p.includes('{query}') ? line + fillSlots(t, p, query, instruction) : fillSlots(t, p, query, instruction));
  const doc = parts[k]!;
  const at = doc.indexOf('{document}');
  return {
    before: parts.slice(0, k).map(fill),
    docHead: fill(doc.slice(0, at)),
    docTail: fillSlots(t, doc.slice(at + '{document}'.length), query, instruction),
    after: parts.slice(k + 1).map(fill),
    query: parts.slice(0, k).findIndex((p) => p.includes('{query}')),
  };
}

function fillSlots(t: PromptTemplate, s: string, query: string, instruction: string | undefined): string {
  // One pass, so a query that contains the text "{instruction}" stays as it is.
  return s.replace(/\{(query|instruction)\}/g, (_m, k: string) => (k === 'query' ? query : instruction ?? t.defaultInstruction ?? ''));
}

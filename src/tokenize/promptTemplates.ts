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
    // vLLM examples/pooling/score/template/mxbai_rerank_v2.jinja; tokens "1"/"0" (convert_model_to_seq_cls.py).
    template: {
      name: 'mxbai-rerank-v2',
      prefix: '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n',
      body:
        'query: {query}\ndocument: {document}\nYou are a search relevance expert who evaluates how well documents match search queries. ' +
        'For each query-document pair, carefully analyze the semantic relationship between them, then provide your binary relevance judgment (0 for not relevant, 1 for relevant).\nRelevance:',
      suffix: '<|im_end|>\n<|im_start|>assistant\n',
    },
    tokens: ['1', '0'],
    modelTypes: ['qwen2'],
    chatTokens: ['<|im_start|>', '<|im_end|>'],
    source: "vLLM's mxbai_rerank_v2.jinja score template",
  },
  {
    // vLLM examples/pooling/score/template/bge-reranker-v2-gemma.jinja; the raw logit of "Yes".
    template: {
      name: 'bge-reranker-v2-gemma',
      prefix: '',
      body: "A: {query}\nB: {document}\nGiven a query A and a passage B, determine whether the passage contains an answer to the query by providing a prediction of either 'Yes' or 'No'.",
      suffix: '',
    },
    tokens: ['Yes'],
    modelTypes: ['gemma'],
    chatTokens: ['<bos>'],
    source: "vLLM's bge-reranker-v2-gemma.jinja score template",
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
  // One pass, so a query that contains the text "{instruction}" stays as it is.
  const fill = (s: string): string => s.replace(/\{(query|instruction)\}/g, (_m, k: string) => (k === 'query' ? query : instruction ?? t.defaultInstruction ?? ''));
  return { head: fill(t.body.slice(0, at)), tail: fill(t.body.slice(at + '{document}'.length)) };
}

/**
 * The second scoring kind: decoder LLM rerankers (Qwen3-Reranker, mxbai-rerank-v2,
 * bge-reranker-v2-gemma), scored by the next-token logits of a "yes" and a "no" token after a
 * prompt. Their config says *ForCausalLM, so they need evidence other than `architectures`.
 * Precedence, as for every decision here: override > graph > files > built-in hints; a name never decides.
 *
 *   applies when   the graph outputs causal-LM logits [batch, seq, vocab], or config.json names a
 *                  causal LM, or a sentence-transformers LogitScore/CausalScoreHead module is there,
 *                  or a *ForSequenceClassification conversion of a known decoder family (seq-cls)
 *   tokens         SCORE_TOKENS > the LogitScore module's true/false_token_id > the family's tokens
 *   template       PROMPT_TEMPLATE > a score template (*.jinja) in the folder > the family's built-in
 *                  template, picked from model_type plus tokenizer evidence, with a warning
 *   instruction    INSTRUCTION > config_sentence_transformers.json prompts > the template's default
 *
 * Returns undefined when the model is not a decoder reranker candidate (the classic path decides).
 */
import { readConfigHead } from './configHead';
import { decideActivation } from './decideActivation';
import type { TaskDecision } from './decideTask';
import { tokenId } from './decideTokens';
import { readGraphOutput } from './graphOutput';
import { getInt, getRecord, getString, type Json } from './jsonFields';
import { onnxSource, type Notes } from './notes';
import { FAMILIES, parseScoreTemplate, type PromptFamily, type PromptTemplate } from '../tokenize/promptTemplates';
import type { Activation, ModelFiles, ModelInputs, OnnxGraphInfo, SpecOverrides } from './types';
import type { DecoderInputs, ScoreToken, YesNoSpec } from './yesNoTypes';

export const OVERRIDES_HINT =
  'MODEL_TASK=reranker with SCORE_TOKENS=<true>[,<false>] (e.g. yes,no) and PROMPT_TEMPLATE=<score template file>, and optionally INSTRUCTION';

export type YesNoDecision =
  | { readonly ok: false; readonly reason: string }
  | {
      readonly ok: true;
      readonly yesNo: YesNoSpec;
      readonly inputs?: ModelInputs;
      readonly outputName?: string;
      readonly maxLength?: { readonly value: number; readonly source: string };
    };

const SEQ_CLS_FAMILIES = new Set(FAMILIES.flatMap((f) => f.modelTypes));

export function decideYesNo(files: ModelFiles, overrides: SpecOverrides, notes: Notes): YesNoDecision | undefined {
  if (overrides.task === 'classifier') return undefined;
  const head = readConfigHead(files);
  const verdict = files.graph ? readGraphOutput(files.graph, files.onnxFile) : undefined;
  const modelType = getString(files.config, 'model_type');
  const causalGraph = verdict?.kind === 'per-token' && verdict.output.name === 'logits' && (head.kind === 'causal-lm' || looksDecoder(files.graph!));
  const seqCls = verdict?.kind === 'scores' && verdict.numLabels === 1 && head.kind === 'sequence-classification' && modelType !== undefined && SEQ_CLS_FAMILIES.has(modelType);
  const stModule = files.decoder?.scoreModule;
  const candidate = causalGraph || (head.kind === 'causal-lm' && !verdict) || seqCls || stModule !== undefined || (head.kind === 'causal-lm' && overrides.task === 'reranker');
  if (!candidate) return undefined;
  const layout: YesNoSpec['layout'] = seqCls ? 'seq-cls' : 'causal-lm';
  const what = head.architecture ? `config.json architectures ${head.architecture}` : causalGraph ? `${verdict?.source} (causal-LM logits)` : 'this model';

  if (!files.tokenizerJson) {
    return { ok: false, reason: `${what} is a decoder LLM; missing tokenizer.json: without it neither the scoring tokens' ids ("yes"/"no") nor the prompt's chat tokens can be found${files.config ? '' : ', and there is no config.json'}; add the tokenizer files (tokenizer.json, tokenizer_config.json), or if this is not a known family set ${OVERRIDES_HINT}` };
  }
  const family = pickFamily(files, modelType, notes);
  const tokens = decideTokens(files, overrides, family);
  if ('reason' in tokens) return { ok: false, reason: `${what} is a decoder LLM; ${tokens.reason}; set ${OVERRIDES_HINT}` };
  const template = decideTemplate(files, overrides, family);
  if (!template) {
    const missing = !files.tokenizerJson ? 'no tokenizer.json to check the family prompt against (its chat tokens and scoring tokens)' : 'no prompt template: no score template (*.jinja) in the folder and no built-in family matches model_type and the vocabulary';
    return { ok: false, reason: `${what} is a decoder LLM, to be scored as a yes/no reranker; ${missing}; set ${OVERRIDES_HINT}` };
  }
  notes.decide('task', 'reranker', layout === 'seq-cls' ? `${verdict?.source} (seq-cls conversion of a ${modelType} decoder)` : overrides.task ? 'override:MODEL_TASK' : `${what} + ${template.source}`);
  notes.decide('scoring', 'yes-no', `${tokens.source}; ${template.source}`);
  notes.decide('scoreTokens', tokens.tokens, tokens.source);
  notes.decide('promptTemplate', template.template.name, template.source);
  if (template.warning) notes.warn(template.warning);

  const instruction = decideInstruction(files, overrides, template.template);
  if (instruction.value !== undefined) notes.decide('instruction', instruction.value, instruction.source!);
  else if (overrides.instruction !== undefined) notes.warn(`INSTRUCTION is set but the ${template.template.name} template has no instruction slot; it is ignored`);

  let inputs: ModelInputs | undefined;
  if (files.graph) {
    const decided = decoderInputs(files, notes);
    if ('reason' in decided) return { ok: false, reason: decided.reason };
    inputs = decided;
  }
  const yesNo: YesNoSpec = {
    layout,
    tokens: tokens.tokens,
    tokensSource: tokens.source,
    template: template.template,
    templateSource: template.source,
    ...(instruction.value !== undefined ? { instruction: instruction.value, instructionSource: instruction.source! } : {}),
  };
  const cap = template.template.name === 'qwen3-reranker' ? { value: 8192, source: 'Qwen3-Reranker model card (max_length = 8192)' } : undefined;
  return { ok: true, yesNo, ...(inputs ? { inputs } : {}), ...(verdict?.output ? { outputName: verdict.output.name } : {}), ...(cap ? { maxLength: cap } : {}) };
}

/** position_ids or past_key_values inputs: an export of a decoder, whatever the config says. */
function looksDecoder(graph: OnnxGraphInfo): boolean {
  return graph.inputs.some((i) => i.name === 'position_ids' || i.name.startsWith('past_key_values'));
}

/** A built-in family whose model_type matches and whose chat and scoring tokens are all in the vocabulary. */
function pickFamily(files: ModelFiles, modelType: string | undefined, notes: Notes): PromptFamily | undefined {
  if (modelType === undefined || !files.tokenizerJson) return undefined;
  const family = FAMILIES.find((f) => f.modelTypes.includes(modelType));
  if (!family) return undefined;
  const missing = [...family.chatTokens, ...family.tokens].filter((t) => tokenId(files.tokenizerJson, t) === undefined);
  if (missing.length) {
    notes.warn(`model_type ${modelType} matches the built-in ${family.template.name} prompt, but the vocabulary lacks ${missing.join(', ')}; not assumed`);
    return undefined;
  }
  return family;
}

type TokensDecision = { tokens: ScoreToken[]; source: string } | { reason: string };

function decideTokens(files: ModelFiles, overrides: SpecOverrides, family: PromptFamily | undefined): TokensDecision {
  const lookup = (names: readonly string[], source: string): TokensDecision => {
    if (!files.tokenizerJson) return { reason: `${source} names tokens but there is no tokenizer.json to find their ids` };
    const out: ScoreToken[] = [];
    for (const token of names) {
      const id = tokenId(files.tokenizerJson, token);
      if (id === undefined) return { reason: `${source}: token '${token}' is not a single token of the vocabulary` };
      out.push({ token, id });
    }
    return { tokens: out, source };
  };
  if (overrides.scoreTokens?.length) return lookup(overrides.scoreTokens, 'override:SCORE_TOKENS');
  const m = files.decoder?.scoreModule;
  if (m) {
    const t = getInt(m.config, 'true_token_id');
    const f = getInt(m.config, 'false_token_id');
    if (t === undefined) return { reason: `modules.json names ${m.type} but ${m.path || '.'}/config.json has no true_token_id` };
    const name = (id: number): string => tokenName(files.tokenizerJson, id) ?? `#${id}`;
    return { tokens: [{ token: name(t), id: t }, ...(f !== undefined ? [{ token: name(f), id: f }] : [])], source: `${m.path}/config.json true_token_id${f !== undefined ? '/false_token_id' : ''} (${m.type})` };
  }
  if (family) return lookup(family.tokens, `built-in ${family.template.name} tokens (${family.source})`);
  return { reason: 'no scoring tokens: no sentence-transformers LogitScore module and no built-in family matches' };
}

function tokenName(tokenizerJson: Json | undefined, id: number): string | undefined {
  const vocab = getRecord(tokenizerJson, 'model')?.vocab;
  if (vocab && typeof vocab === 'object' && !Array.isArray(vocab)) {
    for (const [k, v] of Object.entries(vocab)) if (v === id) return k;
  }
  return undefined;
}

interface TemplateDecision {
  template: PromptTemplate;
  source: string;
  warning?: string;
}

function decideTemplate(files: ModelFiles, overrides: SpecOverrides, family: PromptFamily | undefined): TemplateDecision | undefined {
  if (overrides.promptTemplate) return { template: overrides.promptTemplate, source: `override:PROMPT_TEMPLATE (${overrides.promptTemplate.name})` };
  for (const j of files.decoder?.jinja ?? []) {
    if (j.file === 'chat_template.jinja') continue; // a chat template is not a score template
    try {
      return { template: parseScoreTemplate(j.text, `file:${j.file}`), source: `${j.file} (score template)` };
    } catch {
      continue; // not a score template this reader understands; the family or an override decides
    }
  }
  if (family) {
    return {
      template: family.template,
      source: `built-in ${family.template.name} template (${family.source}), picked from config.json model_type + tokenizer.json tokens`,
      warning: `assumed the ${family.template.name} prompt (${family.source}) from model_type and the vocabulary; set PROMPT_TEMPLATE to use another one`,
    };
  }
  return undefined;
}

function decideInstruction(files: ModelFiles, overrides: SpecOverrides, t: PromptTemplate): { value?: string; source?: string } {
  if (t.defaultInstruction === undefined) return {};
  if (overrides.instruction !== undefined) return { value: overrides.instruction, source: 'override:INSTRUCTION' };
  const st = files.sentenceTransformersConfig;
  const prompts = getRecord(st, 'prompts');
  const name = getString(st, 'default_prompt_name') ?? 'query';
  const p = getString(prompts, name);
  if (p !== undefined) return { value: p, source: `config_sentence_transformers.json:prompts.${name}` };
  return { value: t.defaultInstruction, source: `${t.name} template default` };
}

/** The decoder's inputs: ids, mask, position_ids, past_key_values.* (fed empty), use_cache_branch (fed false). */
function decoderInputs(files: ModelFiles, notes: Notes): ModelInputs | { reason: string } {
  const graph = files.graph!;
  const file = onnxSource(files.onnxFile);
  const ids = graph.inputs.find((i) => i.name === 'input_ids');
  if (!ids || (ids.type !== 'int64' && ids.type !== 'int32')) return { reason: `${file} has no int64/int32 input_ids input` };
  const past: Array<DecoderInputs['past'][number]> = [];
  const kvHeadsConfig = getInt(files.config, 'num_key_value_heads') ?? getInt(files.config, 'num_attention_heads');
  const headDimConfig = getInt(files.config, 'head_dim') ?? (() => {
    const h = getInt(files.config, 'hidden_size');
    const n = getInt(files.config, 'num_attention_heads');
    return h && n ? h / n : undefined;
  })();
  let positionIds: string | undefined;
  let useCacheBranch: string | undefined;
  let mask: string | undefined;
  for (const i of graph.inputs) {
    if (i.name === 'input_ids') continue;
    if (i.name === 'attention_mask') mask = i.name;
    else if (i.name === 'position_ids') positionIds = i.name;
    else if (i.name === 'use_cache_branch') useCacheBranch = i.name;
    else if (i.name.startsWith('past_key_values')) {
      if (i.type !== 'float32' && i.type !== 'float16') return { reason: `${file} input ${i.name} is ${i.type}; only float32/float16 caches can be fed empty` };
      const kvHeads = typeof i.dims[1] === 'number' ? i.dims[1] : kvHeadsConfig;
      const headDim = typeof i.dims[3] === 'number' ? i.dims[3] : headDimConfig;
      if (!kvHeads || !headDim) return { reason: `${file} input ${i.name} has symbolic dims and config.json gives no num_key_value_heads/head_dim to build an empty past` };
      past.push({ name: i.name, type: i.type, kvHeads, headDim });
    } else return { reason: `${file} requires input ${i.name}, which a decoder reranker cannot be fed (expected input_ids, attention_mask, position_ids, past_key_values.*, use_cache_branch)` };
  }
  if (!mask) return { reason: `${file} has no attention_mask input: the last real token of a padded row cannot be found` };
  notes.decide('inputs', graph.inputs.map((i) => i.name), `${file} inputs (decoder: ${past.length} empty past tensors${positionIds ? ', position_ids from the mask' : ''}${useCacheBranch ? ', use_cache_branch=false' : ''})`);
  return {
    inputIds: 'input_ids',
    attentionMask: mask,
    idType: ids.type,
    decoder: { ...(positionIds ? { positionIds } : {}), past, ...(useCacheBranch ? { useCacheBranch } : {}) },
  };
}

/** The task decision of a yes/no reranker: one score per pair. */
export function yesNoTask(files: ModelFiles, outputName: string | undefined): TaskDecision {
  return { ok: true, task: 'reranker', numLabels: 1, labels: ['LABEL_0'], ...(outputName !== undefined ? { outputName } : {}), head: readConfigHead(files) };
}

/**
 * sigmoid(logit[true] - logit[false]) is the 2-way softmax the reference computes; one token is
 * its raw logit (bge-reranker-v2-gemma). ACTIVATION and a stored sentence-transformers activation still win.
 */
export function yesNoActivation(files: ModelFiles, y: YesNoSpec, overrides: SpecOverrides, notes: Notes): Activation {
  if (y.tokens.length === 2 || overrides.activation) return decideActivation(files, 1, overrides.activation, notes);
  notes.decide('activation', 'identity', `one scoring token (${y.tokens[0]!.token}): its raw logit`);
  return 'identity';
}

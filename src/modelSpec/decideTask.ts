/**
 * reranker or classifier, and the labels. Precedence (the issue's, point 3):
 *   override (MODEL_TASK) > the graph's declared output > config.json > nothing.
 * `_name_or_path` never decides: it only adds a hint to a refusal.
 *
 * Facts of the graph (an embedding output, per-token logits) are refused even under an override,
 * because no setting makes such a graph produce one score per pair. A causal-LM config is refused
 * unless MODEL_TASK is set: those rerankers score a prompt template's next token, which the pair
 * encoder does not build.
 */
import { readConfigHead, type ConfigHead } from './configHead';
import { readGraphOutput, type GraphVerdict } from './graphOutput';
import type { Notes } from './notes';
import type { ModelFiles, SpecOverrides, Task } from './types';

export const SUPPORTED =
  'supported: cross-encoder rerankers (one logit per pair) and sequence classifiers (*ForSequenceClassification) exported to ONNX';

export type TaskDecision =
  | {
      readonly ok: true;
      readonly task: Task;
      readonly numLabels: number;
      readonly labels: readonly string[];
      readonly outputName?: string;
      readonly head: ConfigHead;
    }
  | { readonly ok: false; readonly reason: string };

export function decideTask(files: ModelFiles, overrides: SpecOverrides, notes: Notes): TaskDecision {
  const head = readConfigHead(files);
  const graph = files.graph ? readGraphOutput(files.graph, files.onnxFile) : undefined;
  const refusal = refuseFromGraph(graph, head) ?? refuseCausal(head, overrides);
  if (refusal) return { ok: false, reason: refusal };
  const outputName = graph?.output?.name;
  const done = (task: Task, numLabels: number): TaskDecision => ({
    ok: true,
    task,
    numLabels,
    labels: pickLabels(head, numLabels, notes, files.config !== undefined),
    ...(outputName !== undefined ? { outputName } : {}),
    head,
  });

  if (overrides.task) {
    const numLabels = overrideLabels(overrides.task, graph, head, files.config !== undefined, notes);
    return typeof numLabels === 'string' ? { ok: false, reason: numLabels } : done(overrides.task, numLabels);
  }

  if (graph?.kind === 'scores') {
    const task: Task = graph.numLabels === 1 ? 'reranker' : 'classifier';
    notes.decide('task', task, graph.source);
    warnConfigConflicts(head, graph.numLabels, graph.source, notes);
    return done(task, graph.numLabels);
  }
  if (graph?.kind === 'undecided') notes.warn(`${graph.source} does not fix the number of logits; deciding from config.json`);

  const fromConfig = decideFromConfig(head, files.config !== undefined);
  if ('reason' in fromConfig) {
    // Point the user at what would settle it: a graph with a score output, or MODEL_TASK.
    const open = fromConfig.undecided || head.kind === 'base-or-masked-lm' || head.pooling !== undefined;
    const noGraph = open && !files.graph ? '; no ONNX graph shows a score output' : '';
    const hint = fromConfig.undecided ? nameHintNote(head) : '';
    return { ok: false, reason: `${fromConfig.reason}${noGraph}${hint}; ${SUPPORTED}` };
  }
  const task: Task = fromConfig.numLabels === 1 ? 'reranker' : 'classifier';
  notes.decide('task', task, fromConfig.source);
  if (fromConfig.warning) notes.warn(fromConfig.warning);
  return done(task, fromConfig.numLabels);
}

/**
 * MODEL_TASK decides, within what the graph physically gives: a reranker needs one logit. Returns
 * the label count, or a refusal reason. What the config would have said becomes a warning.
 */
function overrideLabels(task: Task, graph: GraphVerdict | undefined, head: ConfigHead, hasConfig: boolean, notes: Notes): number | string {
  const n = graph?.kind === 'scores' ? graph.numLabels : undefined;
  if (task === 'reranker' && n !== undefined && n > 1) {
    return `MODEL_TASK=reranker, but ${graph?.source} gives ${n} logits per pair; a reranker needs one (use MODEL_TASK=classifier)`;
  }
  notes.decide('task', task, 'override:MODEL_TASK');
  if (head.kind === 'causal-lm') {
    notes.warn(`MODEL_TASK=${task} overrides config.json architectures ${head.architecture} (a causal LM); pairs are encoded with the tokenizer's pair template, not a prompt`);
  } else if (n === undefined) {
    const fromConfig = decideFromConfig(head, hasConfig);
    if ('reason' in fromConfig) notes.warn(`MODEL_TASK=${task} overrides what the config files say (${fromConfig.reason})`);
    else if ((fromConfig.numLabels === 1) !== (task === 'reranker')) {
      notes.warn(`MODEL_TASK=${task} overrides ${fromConfig.source} (${fromConfig.numLabels} label(s))`);
    }
  }
  const numLabels = n ?? (task === 'reranker' ? 1 : head.labels?.length ?? 2);
  if (task === 'classifier' && numLabels === 1) notes.warn('MODEL_TASK=classifier on a model with one logit: a single-label classifier');
  return numLabels;
}

function refuseFromGraph(graph: GraphVerdict | undefined, head: ConfigHead): string | undefined {
  if (!graph) return undefined;
  const arch = head.architecture ? ` (config.json architectures: ${head.architecture})` : '';
  switch (graph.kind) {
    case 'embedding':
      return `not a reranker: ${graph.source} is an embedding output${arch}; embedding models are not served; ${SUPPORTED}`;
    case 'per-token': {
      const what = head.kind === 'causal-lm' ? 'language-model logits' : 'token classification';
      return `not a reranker: ${graph.source} gives one output per token (${what})${arch}; ${SUPPORTED}`;
    }
    case 'unsupported':
      return `cannot serve this graph: ${graph.why} (${graph.source}); ${SUPPORTED}`;
    default:
      return undefined;
  }
}

function refuseCausal(head: ConfigHead, overrides: SpecOverrides): string | undefined {
  if (head.kind !== 'causal-lm' || overrides.task) return undefined;
  return `not supported: config.json architectures ${head.architecture} is a causal LM (a decoder-style reranker scores a prompt's next token, e.g. Qwen3-Reranker); ${SUPPORTED}`;
}

type ConfigVerdict = { numLabels: number; source: string; warning?: string } | { reason: string; undecided?: boolean };

function decideFromConfig(head: ConfigHead, hasConfig: boolean): ConfigVerdict {
  const arch = head.architecture;
  const labelCount = head.labels?.length;
  switch (head.kind) {
    case 'sequence-classification':
      // transformers gives a classification head 2 labels when the config names none.
      return { numLabels: labelCount ?? 2, source: 'config.json:architectures' + (labelCount ? ` + ${head.labelsSource}` : ' (default 2 labels)') };
    case 'token-classification':
      return { reason: `not a reranker: config.json architectures ${arch} is a token classifier (one label per token)` };
    case 'question-answering':
    case 'multiple-choice':
      return { reason: `not a reranker: config.json architectures ${arch} is a ${head.kind} model` };
    case 'base-or-masked-lm':
      // A remote-code model (JinaBert) may name its MLM class while auto_map offers the classifier;
      // with an explicit id2label it was saved with a classification head. A Pooling module wins.
      if (head.autoMapSequenceClassification && labelCount && !head.pooling) {
        return {
          numLabels: labelCount,
          source: `config.json:auto_map.AutoModelForSequenceClassification + ${head.labelsSource}`,
          warning: `config.json architectures says ${arch}, but auto_map offers AutoModelForSequenceClassification and ${head.labelsSource} names ${labelCount} label(s); treated as a classification head`,
        };
      }
      // jina-reranker-v1 ships exactly this: the MLM class in architectures, the classifier in
      // auto_map, no labels and no Pooling module. sentence-transformers' CrossEncoder loads it
      // with one label, so it is a reranker; calling it an embedder is the mistake other servers make.
      if (head.autoMapSequenceClassification && !head.pooling) {
        return {
          numLabels: 1,
          source: 'config.json:auto_map.AutoModelForSequenceClassification (no labels: one, as CrossEncoder loads it)',
          warning: `config.json architectures says ${arch} and names no labels, but auto_map offers AutoModelForSequenceClassification (${head.autoMapSequenceClassification}): treated as a reranker with one label, as sentence-transformers' CrossEncoder loads it; set MODEL_TASK=classifier if it is not`,
        };
      }
      return { reason: embeddingReason(head) };
    default:
      if (labelCount && !head.pooling) return { numLabels: labelCount, source: head.labelsSource ?? 'config.json' };
      if (head.crossEncoderMeta && !head.pooling) return { numLabels: labelCount ?? 1, source: head.crossEncoderMeta };
      if (head.pooling) return { reason: embeddingReason(head) };
      if (arch) return { reason: `cannot decide the task: config.json architectures ${arch} names no known head`, undecided: true };
      return {
        reason: hasConfig ? 'cannot decide the task: config.json names no architectures or labels' : 'cannot decide the task: no config.json',
        undecided: true,
      };
  }
}

function embeddingReason(head: ConfigHead): string {
  const found = [
    head.architecture ? `config.json architectures ${head.architecture} (no classification head)` : undefined,
    head.pooling ? `a sentence-transformers Pooling module (${head.pooling})` : undefined,
  ].filter(Boolean);
  return `not a reranker: an embedding model: ${found.join(' and ')}; if it is a cross-encoder all the same, set MODEL_TASK=reranker`;
}

function nameHintNote(head: ConfigHead): string {
  if (!head.nameHint) return '';
  const suggests = /rerank|cross-?encoder|ms-marco/i.test(head.nameHint) ? ' suggests a reranker, but' : ' is not used:';
  return `; _name_or_path '${head.nameHint}'${suggests} a name decides nothing (any re-save rewrites it); set MODEL_TASK if you know the task`;
}

function warnConfigConflicts(head: ConfigHead, n: number, graphSource: string, notes: Notes): void {
  const arch = head.architecture;
  if (head.kind === 'sequence-classification' || head.kind === 'none' || head.kind === 'unknown') {
    const count = head.labels?.length;
    if (count !== undefined && count !== n) {
      notes.warn(`${head.labelsSource} names ${count} label(s) but ${graphSource} gives ${n}; following the graph`);
    }
  } else {
    notes.warn(`config.json architectures says ${arch} (${head.kind}) but ${graphSource} is a score head; following the graph`);
  }
  if (head.autoMapSequenceClassification && head.kind !== 'sequence-classification') {
    notes.decide('taskSupport', head.autoMapSequenceClassification, 'config.json:auto_map.AutoModelForSequenceClassification');
  }
  if (head.pooling) notes.warn(`${head.pooling} is an embedding pooling module, but ${graphSource} is a score head; following the graph`);
}

function pickLabels(head: ConfigHead, numLabels: number, notes: Notes, hasConfig: boolean): string[] {
  const labels = head.labels;
  if (labels && labels.length === numLabels) {
    notes.decide('labels', labels, head.labelsSource ?? 'config.json');
    return [...labels];
  }
  const generated = Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
  notes.decide('labels', generated, `default (LABEL_i for ${numLabels} logit${numLabels === 1 ? '' : 's'})`);
  if (!hasConfig) notes.warn(`no config.json: labels default to ${generated.join(', ')}`);
  return generated;
}

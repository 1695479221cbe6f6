/**
 * The function applied to the logits, so scores match what the model's authors serve. A
 * sentence-transformers CrossEncoder stores it, depending on the version, as
 *   config.json  sbert_ce_default_activation_function   (ST < 4)
 *   config.json  sentence_transformers.activation_fn    (ST 4 / 5 with transformers 4)
 *   config_sentence_transformers.json  activation_fn    (ST 5 with transformers 5)
 * as a torch class path ('torch.nn.modules.linear.Identity'). Without it: sigmoid for one logit,
 * softmax for several. ACTIVATION wins. (ms-marco-MiniLM says Identity: its scores are raw logits.)
 */
import { getRecord, getString } from './jsonFields';
import type { Notes } from './notes';
import type { Activation, ModelFiles } from './types';

const BY_CLASS: ReadonlyArray<[RegExp, Activation]> = [
  [/(^|\.)Identity$/i, 'identity'],
  [/(^|\.)Sigmoid$/i, 'sigmoid'],
  [/(^|\.)Tanh$/i, 'tanh'],
  [/(^|\.)Softmax$/i, 'softmax'],
];

export function activationFromClass(name: string): Activation | undefined {
  for (const [re, a] of BY_CLASS) if (re.test(name.trim())) return a;
  return undefined;
}

export function decideActivation(
  files: ModelFiles,
  numLabels: number,
  override: Activation | undefined,
  notes: Notes,
): Activation {
  if (override) {
    notes.decide('activation', override, 'override:ACTIVATION');
    return override;
  }
  const stored: Array<[string | undefined, string]> = [
    [getString(files.config, 'sbert_ce_default_activation_function'), 'config.json:sbert_ce_default_activation_function'],
    [getString(getRecord(files.config, 'sentence_transformers'), 'activation_fn'), 'config.json:sentence_transformers.activation_fn'],
    [getString(files.sentenceTransformersConfig, 'activation_fn'), 'config_sentence_transformers.json:activation_fn'],
  ];
  let chosen: { activation: Activation; source: string } | undefined;
  for (const [value, source] of stored) {
    if (value === undefined) continue;
    const a = activationFromClass(value);
    if (!a) {
      notes.warn(`${source} names ${value}, which is not one of Identity, Sigmoid, Tanh, Softmax; ignored`);
      continue;
    }
    if (!chosen) chosen = { activation: a, source: `${source} ${value}` };
    else if (chosen.activation !== a) notes.warn(`${source} says ${a} but ${chosen.source} was used`);
  }
  if (chosen) {
    notes.decide('activation', chosen.activation, chosen.source);
    return chosen.activation;
  }
  const activation: Activation = numLabels === 1 ? 'sigmoid' : 'softmax';
  notes.decide('activation', activation, `default for ${numLabels} logit${numLabels === 1 ? '' : 's'}`);
  // A default that changes every score is said out loud (inspect, /info, the start-up line).
  const where = files.config ? 'no config file names an activation' : 'no config.json';
  notes.warn(`${where}: scores use ${activation}, the default for ${numLabels} logit${numLabels === 1 ? '' : 's'} (set ACTIVATION=identity for raw logits, or another activation)`);
  return activation;
}

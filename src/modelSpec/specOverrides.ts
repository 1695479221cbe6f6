/**
 * The overrides of the spec's decisions, built in one place for `serve` (from the environment,
 * already checked by config.ts) and `inspect` (from its flags, checked by cli.ts): MODEL_TASK,
 * MAX_INPUT_LENGTH, ACTIVATION, SCORE_TOKENS, PROMPT_TEMPLATE and INSTRUCTION. The template file
 * is read and parsed here (start-up IO), so buildSpec stays pure and checks nothing again.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { OverrideOptions } from '../config';
import { AppError, messageOf } from '../errors';
import { parseScoreTemplate } from '../tokenize/promptTemplates';
import type { SpecOverrides } from './types';

export async function specOverrides(config: OverrideOptions): Promise<SpecOverrides> {
  const out: { -readonly [K in keyof SpecOverrides]?: SpecOverrides[K] } = {};
  if (config.taskOverride) out.task = config.taskOverride;
  if (config.maxInputLengthOverride !== undefined) out.maxInputLength = config.maxInputLengthOverride;
  if (config.activationOverride) out.activation = config.activationOverride;
  if (config.scoreTokensOverride) out.scoreTokens = config.scoreTokensOverride;
  if (config.instructionOverride !== undefined) out.instruction = config.instructionOverride;
  if (config.promptTemplateFile) {
    let text: string;
    try {
      text = await fsp.readFile(config.promptTemplateFile, 'utf8');
    } catch (e) {
      throw new AppError('Config', `PROMPT_TEMPLATE=${config.promptTemplateFile} cannot be read: ${messageOf(e)}`, { cause: e });
    }
    try {
      out.promptTemplate = parseScoreTemplate(text, `file:${path.basename(config.promptTemplateFile)}`);
    } catch (e) {
      throw new AppError('Config', `PROMPT_TEMPLATE=${config.promptTemplateFile}: ${messageOf(e)}`, { cause: e });
    }
  }
  return out;
}

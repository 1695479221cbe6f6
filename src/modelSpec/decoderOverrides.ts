/**
 * SCORE_TOKENS, PROMPT_TEMPLATE and INSTRUCTION as SpecOverrides: the template file is read and
 * parsed here (start-up IO), so buildSpec stays pure.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config';
import { AppError, messageOf } from '../errors';
import { parseScoreTemplate } from '../tokenize/promptTemplates';
import type { SpecOverrides } from './types';

export async function decoderOverrides(config: Pick<Config, 'scoreTokensOverride' | 'promptTemplateFile' | 'instructionOverride'>): Promise<Partial<SpecOverrides>> {
  const out: { -readonly [K in keyof SpecOverrides]?: SpecOverrides[K] } = {};
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

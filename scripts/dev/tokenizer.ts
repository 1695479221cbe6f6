/**
 * Tokenizers for tests and benchmarks, loaded the way the server loads them: the model folder's one
 * reader (readModelFiles) finds the files, and the encoder or pool gets exactly those.
 */
import { readModelFiles } from '../../src/modelSpec/readModelFiles';
import { tokenizerFilesOf } from '../../src/modelSpec/servable';
import { PairEncoder } from '../../src/tokenize/pairEncoder';
import type { TokenizerFiles } from '../../src/tokenize/tokenizerFiles';

export async function tokenizerFilesIn(dir: string): Promise<TokenizerFiles> {
  return tokenizerFilesOf(await readModelFiles(dir));
}

export async function encoderIn(dir: string): Promise<PairEncoder> {
  return PairEncoder.fromFiles(await tokenizerFilesIn(dir));
}

// Writes a complete Hugging Face-style model folder (ONNX graph + config + tokenizer) without any
// download: seeded random BERT cross-encoders for tests and benchmarks, and the lexical-overlap demo.
//
//   node dist/scripts/gen-model.js --preset demo --out models/demo
//   npx tsx scripts/gen-model.ts --preset minilm --labels 3 --layout onnx --out /tmp/m
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBertModel } from './onnx/bertGraph';
import { buildLexicalOverlapModel, DEFAULT_LEXICAL } from './onnx/lexicalGraph';
import { tokenWeights } from './onnx/tokenWeights';
import { bertConfigJson, labelNames, readVocab, writeTokenizerFiles } from './hfModelFiles';
import { DECODER_PRESETS, generateDecoder, isDecoderPreset, type DecoderPresetName } from './genDecoder';
import { BERT_PRESETS, isPresetName, PRESET_NAMES, type PresetName } from './modelPresets';

/** Bumped only when the bytes written for the same options change on purpose. */
export const GENERATOR_VERSION = '2';

export interface GenerateModelOptions {
  /** output folder, created if missing; files of the same name are overwritten */
  out: string;
  /** default 'tiny'; the qwen3-* presets are decoder LLM rerankers (scripts/genDecoder.ts) */
  preset?: PresetName | DecoderPresetName;
  /** overrides of the preset's shape (not allowed with 'demo') */
  layers?: number;
  hidden?: number;
  heads?: number;
  intermediate?: number;
  maxPosition?: number;
  /**
   * rows of the word-embedding table; default 30522 (bert-base-uncased's vocabulary). Fewer rows make a
   * model whose runs fail for texts with token ids past the table (a real export mistake), for fault tests.
   */
  vocabSize?: number;
  /** a count (LABEL_0..) or the label names; default 1 (a reranker). >1 makes a classifier. */
  labels?: number | readonly string[];
  /** PRNG seed for every weight; default 42 */
  seed?: number;
  /** 'root': DIR/model.onnx (default); 'onnx': DIR/onnx/model.onnx as optimum / transformers.js lay it out */
  layout?: 'root' | 'onnx';
  /** false: the graph has no token_type_ids input; default true */
  tokenTypeIds?: boolean;
  /**
   * a folder whose bert-base-uncased-style tokenizer files are copied (tests and benchmarks pass the
   * real one from ../shared); default: the project's own WordPiece tokenizer (scripts/wordpieceTokenizer.ts)
   */
  tokenizerDir?: string;
}

export interface GeneratedModel {
  dir: string;
  /** absolute path of model.onnx */
  modelFile: string;
  modelBytes: number;
}

const LAYER_NORM_EPS = 1e-12;

function modelBytesFor(o: GenerateModelOptions, preset: PresetName, seed: number): { onnx: Uint8Array; config: string; maxPosition: number } {
  if (preset === 'demo') {
    const overridden = (['layers', 'hidden', 'heads', 'intermediate', 'maxPosition', 'labels', 'vocabSize'] as const).filter((k) => o[k] !== undefined);
    if (overridden.length) throw new Error(`--preset demo has a fixed shape; remove ${overridden.map((k) => `--${k}`).join(', ')}`);
    if (o.tokenTypeIds === false) throw new Error('--preset demo needs token_type_ids to tell the query from the document');
    const vocab = readVocab(o.tokenizerDir);
    const onnx = buildLexicalOverlapModel({ ...DEFAULT_LEXICAL, tokenWeights: tokenWeights(vocab).weights, seed }, GENERATOR_VERSION);
    const config = bertConfigJson({
      nameOrPath: 'sagemaker-reranker/demo-lexical-overlap',
      // Honest numbers: no encoder layers, the width is the tie-break vectors'.
      hidden: DEFAULT_LEXICAL.denseDim,
      layers: 0,
      heads: 1,
      intermediate: DEFAULT_LEXICAL.denseDim,
      vocabSize: vocab.length,
      maxPosition: 512,
      typeVocabSize: 2,
      layerNormEps: LAYER_NORM_EPS,
      labels: labelNames(1),
      extra: {
        sagemaker_reranker_demo: true,
        // Said, not defaulted: the spec then takes sigmoid from the file and warns about nothing.
        sentence_transformers: { activation_fn: 'torch.nn.modules.activation.Sigmoid' },
        sagemaker_reranker_demo_scoring:
          'untrained lexical overlap: logit = 8 * cos(query tokens, document tokens) + 0.5 * cos(random token vectors) - 4; stopwords and punctuation ignored',
      },
    });
    return { onnx, config, maxPosition: 512 };
  }
  const shape = BERT_PRESETS[preset];
  const labels = labelNames(o.labels ?? shape.numLabels);
  const arch = {
    vocabSize: o.vocabSize ?? shape.vocabSize,
    hidden: o.hidden ?? shape.hidden,
    layers: o.layers ?? shape.layers,
    heads: o.heads ?? shape.heads,
    intermediate: o.intermediate ?? shape.intermediate,
    maxPosition: o.maxPosition ?? shape.maxPosition,
    typeVocabSize: shape.typeVocabSize,
    numLabels: labels.length,
    layerNormEps: LAYER_NORM_EPS,
    tokenTypeIds: o.tokenTypeIds ?? true,
    seed,
  };
  const onnx = buildBertModel(arch, GENERATOR_VERSION);
  const config = bertConfigJson({ ...arch, nameOrPath: shape.nameOrPath, labels });
  return { onnx, config, maxPosition: arch.maxPosition };
}

export async function generateModel(o: GenerateModelOptions): Promise<GeneratedModel> {
  const preset = o.preset ?? 'tiny';
  if (isDecoderPreset(preset)) {
    return generateDecoder({ out: o.out, preset, ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.layers !== undefined ? { layers: o.layers } : {}) });
  }
  if (!isPresetName(preset)) throw new Error(`unknown preset ${String(preset)}; expected one of ${[...PRESET_NAMES, ...DECODER_PRESETS].join(', ')}`);
  const seed = o.seed ?? 42;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`seed must be an integer in [0, 2^32), got ${seed}`);
  const layout = o.layout ?? 'root';
  if (layout !== 'root' && layout !== 'onnx') throw new Error(`layout must be root or onnx, got ${String(layout)}`);

  const built = modelBytesFor(o, preset, seed);
  const dir = resolve(o.out);
  const modelFile = layout === 'root' ? join(dir, 'model.onnx') : join(dir, 'onnx', 'model.onnx');
  await mkdir(join(modelFile, '..'), { recursive: true });
  // A stale model in the other layout would make the folder ambiguous for whoever loads it.
  await rm(layout === 'root' ? join(dir, 'onnx', 'model.onnx') : join(dir, 'model.onnx'), { force: true });
  await writeFile(modelFile, built.onnx);
  await writeFile(join(dir, 'config.json'), built.config);
  await writeTokenizerFiles(dir, built.maxPosition, o.tokenizerDir);
  return { dir, modelFile, modelBytes: built.onnx.byteLength };
}

const USAGE = `usage: gen-model [--preset ${[...PRESET_NAMES, ...DECODER_PRESETS].join('|')}] --out DIR [options]
  --layers N --hidden N --heads N --intermediate N --max-position N   override the preset's shape
  --vocab-size N     word-embedding rows (default 30522, bert-base-uncased's; fewer: runs fail on higher token ids)
  --labels N|a,b,c   number of labels (LABEL_0..) or their names; >1 makes a classifier (default 1)
  --seed N           weight seed (default 42)
  --layout root|onnx DIR/model.onnx (default) or DIR/onnx/model.onnx
  --no-token-type-ids  graph without the token_type_ids input
  --tokenizer DIR    copy this folder's WordPiece tokenizer files (default: the project's own)`;

function intFlag(values: Record<string, unknown>, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got ${String(v)}`);
  return n;
}

export function parseCliArgs(argv: string[]): GenerateModelOptions | 'help' {
  const str = { type: 'string' } as const;
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      preset: str, out: str, layers: str, hidden: str, heads: str, intermediate: str, 'max-position': str, 'vocab-size': str,
      labels: str, seed: str, layout: str, tokenizer: str, 'no-token-type-ids': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (!values.out) throw new Error('--out DIR is required');
  const preset = values.preset ?? 'tiny';
  if (isDecoderPreset(preset)) return { out: values.out, preset, ...(values.seed ? { seed: Number(values.seed) } : {}), ...(values.layers ? { layers: Number(values.layers) } : {}) };
  if (!isPresetName(preset)) throw new Error(`unknown preset ${preset}; expected one of ${PRESET_NAMES.join(', ')}`);
  const layout = values.layout ?? 'root';
  if (layout !== 'root' && layout !== 'onnx') throw new Error(`--layout must be root or onnx, got ${layout}`);
  const labels = values.labels === undefined ? undefined : /^\d+$/.test(values.labels) ? Number(values.labels) : values.labels.split(',');
  const o: GenerateModelOptions = { out: values.out, preset, layout };
  const ints = { layers: 'layers', hidden: 'hidden', heads: 'heads', intermediate: 'intermediate', maxPosition: 'max-position', vocabSize: 'vocab-size', seed: 'seed' } as const;
  for (const [key, flag] of Object.entries(ints) as [keyof typeof ints, string][]) {
    const n = intFlag(values, flag);
    if (n !== undefined) o[key] = n;
  }
  if (labels !== undefined) o.labels = labels;
  if (values['no-token-type-ids']) o.tokenTypeIds = false;
  if (values.tokenizer !== undefined) o.tokenizerDir = values.tokenizer;
  return o;
}

async function main(): Promise<void> {
  const parsed = parseCliArgs(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  const started = Date.now();
  const r = await generateModel(parsed);
  const mib = (r.modelBytes / 1048576).toFixed(1);
  console.log(`gen-model: ${parsed.preset ?? 'tiny'} -> ${r.modelFile} (${mib} MiB, ${Date.now() - started} ms)`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`gen-model: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  });
}

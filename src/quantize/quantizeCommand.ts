/**
 * The `reranker quantize` command line: options, the fidelity pairs file, and the printed report.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig, settingsOf } from '../config';
import { configureLog } from '../log';
import { formatFidelity } from './fidelity';
import { DEFAULT_PAIRS_FILE, readPairGroups } from './fidelityPairs';
import { quantizeFolder } from './quantizeFolder';
import { QUANT_OPS, type QuantOps } from './quantizeGraph';

export const QUANTIZE_USAGE = `usage: reranker quantize <model-dir> [options]

Dynamic int8 quantization of the folder's fp32 ONNX graph: MatMul/Gemm weights become per-column
int8, activations are quantized at run time. Writes model_quantized.onnx beside the fp32 file
(serve it with MODEL_DTYPE=q8), only after onnxruntime has loaded and run it.

options:
  --out FILE        where to write (default: model_quantized.onnx beside the fp32 file)
  --onnx FILE       the fp32 file inside the folder (default: the one the server picks)
  --pairs FILE      JSON Lines of {"query", "documents"} or {"query", "positives", "negatives"}
                    for the fidelity report (default: ${DEFAULT_PAIRS_FILE} when it exists)
  --no-fidelity     only check that the file loads and scores
  --ops standard|microsoft
                    standard: DynamicQuantizeLinear + MatMulInteger (default, fastest measured);
                    microsoft: com.microsoft DynamicQuantizeMatMul
  --json            print the result as JSON
  -h, --help        this text`;

export async function quantizeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      onnx: { type: 'string' },
      pairs: { type: 'string' },
      'no-fidelity': { type: 'boolean', default: false },
      ops: { type: 'string', default: 'standard' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(QUANTIZE_USAGE + '\n');
    return 0;
  }
  const dir = positionals[0];
  if (!dir || positionals.length > 1) {
    process.stderr.write(`quantize needs exactly one model folder\n${QUANTIZE_USAGE}\n`);
    return 2;
  }
  const ops = values.ops as QuantOps;
  if (!QUANT_OPS.includes(ops)) {
    process.stderr.write(`--ops must be one of ${QUANT_OPS.join(', ')}\n`);
    return 2;
  }
  const { engine, batching } = settingsOf(loadConfig());
  configureLog('warn', 'text');
  const pairsFile = values['no-fidelity'] ? undefined : (values.pairs ?? (fs.existsSync(DEFAULT_PAIRS_FILE) ? DEFAULT_PAIRS_FILE : undefined));
  const groups = pairsFile !== undefined ? await readPairGroups(pairsFile) : undefined;
  const r = await quantizeFolder(dir, {
    engine,
    batching,
    ops,
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values.onnx !== undefined ? { onnxFile: values.onnx } : {}),
    ...(groups ? { groups } : {}),
  });
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...r, pairsFile: pairsFile ?? null }, null, 2) + '\n');
    return 0;
  }
  const mb = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const s = r.summary;
  const lines = [
    `quantized ${r.source} -> ${r.out} (${s.ops} ops, ${r.seconds.toFixed(1)} s)`,
    `  ${s.quantized.length} MatMul/Gemm weights int8 per-column; ${s.skipped.length} left fp32; ${mb(s.bytesIn)} -> ${mb(s.bytesOut)}`,
    r.fidelity ? formatFidelity(r.fidelity) : `fidelity: not measured (${values['no-fidelity'] ? '--no-fidelity' : `no pairs file: pass --pairs FILE (${DEFAULT_PAIRS_FILE} is not there)`}); the file loads and scores`,
    `  from ${pairsFile ?? '-'}; scores of int8 depend a little on the other pairs in a batch (activation scales are per batch)`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/**
 * MODEL_DTYPE: the choice table (dtype x folder x device x CPU features), the refusal that lists
 * what exists, the names read from sentence-transformers / transformers.js exports, CPU flag parsing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCpuFlags } from '../../src/cpuFeatures';
import { chooseVariant, listVariants, parseDtype, type CpuFeatures, type DtypeRequest } from '../../src/modelSpec/variants';

const VNNI: CpuFeatures = { arch: 'x64', avx2: true, avx512: true, vnni: true };
const AVX512: CpuFeatures = { arch: 'x64', avx2: true, avx512: true, vnni: false };
const AVX2: CpuFeatures = { arch: 'x64', avx2: true, avx512: false, vnni: false };
const ARM: CpuFeatures = { arch: 'arm64', avx2: false, avx512: false, vnni: false };

// sentence-transformers' export of cross-encoder/ms-marco-MiniLM-L6-v2 (onnx/ folder names).
const ST = ['config.json', 'onnx/', 'onnx/model.onnx', 'onnx/model_O1.onnx', 'onnx/model_O4.onnx', 'onnx/model_qint8_arm64.onnx', 'onnx/model_qint8_avx512.onnx', 'onnx/model_qint8_avx512_vnni.onnx', 'onnx/model_quint8_avx2.onnx'];
// transformers.js layout.
const TJS = ['onnx/model.onnx', 'onnx/model_fp16.onnx', 'onnx/model_quantized.onnx', 'onnx/model_int8.onnx', 'onnx/model_uint8.onnx', 'onnx/model_q4.onnx', 'tokenizer.json'];
const OURS = ['model.onnx', 'model_quantized.onnx', 'tokenizer.json'];

const choose = (listing: string[], req: DtypeRequest, device = 'cpu', cpu = VNNI): string | undefined => chooseVariant(listVariants(listing), req, device, cpu)?.file;

test('choice table: dtype x folder x device x CPU', () => {
  const table: Array<[string[], DtypeRequest, string, CpuFeatures, string]> = [
    [ST, 'auto', 'cpu', VNNI, 'onnx/model.onnx'],
    [ST, 'auto', 'auto', VNNI, 'onnx/model.onnx'], // DEVICE=auto may end on CPU: fp32, scores unchanged
    [ST, 'auto', 'cuda', VNNI, 'onnx/model_O4.onnx'],
    [TJS, 'auto', 'cuda', VNNI, 'onnx/model_fp16.onnx'],
    [OURS, 'auto', 'cuda', VNNI, 'model.onnx'], // no fp16 there
    [ST, 'fp32', 'cpu', VNNI, 'onnx/model.onnx'],
    [ST, 'q8', 'cpu', VNNI, 'onnx/model_qint8_avx512_vnni.onnx'],
    [ST, 'q8', 'cpu', AVX512, 'onnx/model_qint8_avx512.onnx'],
    [ST, 'q8', 'cpu', AVX2, 'onnx/model_quint8_avx2.onnx'],
    [ST, 'q8', 'cpu', ARM, 'onnx/model_qint8_arm64.onnx'],
    [TJS, 'q8', 'cpu', VNNI, 'onnx/model_quantized.onnx'],
    [TJS, 'q8', 'cpu', AVX2, 'onnx/model_uint8.onnx'],
    [TJS, 'q8', 'cpu', ARM, 'onnx/model_quantized.onnx'],
    [OURS, 'q8', 'cpu', AVX2, 'model_quantized.onnx'],
    [TJS, 'int8', 'cpu', VNNI, 'onnx/model_int8.onnx'],
    [TJS, 'uint8', 'cpu', VNNI, 'onnx/model_uint8.onnx'],
    [TJS, 'q4', 'cpu', VNNI, 'onnx/model_q4.onnx'],
    [TJS, 'fp16', 'cpu', VNNI, 'onnx/model_fp16.onnx'],
    [ST, { file: 'model_O1.onnx' }, 'cpu', VNNI, 'onnx/model_O1.onnx'],
    [ST, { file: 'onnx/model_O1.onnx' }, 'cpu', VNNI, 'onnx/model_O1.onnx'],
    [['model.onnx', 'onnx/model.onnx'], 'fp32', 'cpu', VNNI, 'model.onnx'], // the root first, as before
    [['onnx/custom.onnx'], 'auto', 'cpu', VNNI, 'onnx/custom.onnx'], // the only file
  ];
  for (const [listing, req, device, cpu, want] of table) {
    assert.equal(choose(listing, req, device, cpu), want, `${JSON.stringify(req)} on ${device} ${JSON.stringify(cpu)} in ${listing.join(',')}`);
  }
});

test('a missing variant is an error that lists what exists, with kinds', () => {
  assert.throws(() => choose(OURS, 'fp16'), (e: Error) => {
    assert.match(e.message, /MODEL_DTYPE=fp16: no model_fp16\.onnx or model_O4\.onnx/);
    assert.match(e.message, /model\.onnx \(fp32\), model_quantized\.onnx \(q8\)/);
    return true;
  });
  assert.throws(() => choose(['model.onnx'], 'q8'), /no 8-bit file \(run `reranker quantize/);
  assert.throws(() => choose(ST, { file: 'model_q4.onnx' }), /no file model_q4\.onnx.*model_qint8_arm64\.onnx \(q8, arm64\)/);
  assert.throws(() => choose(['onnx/a.onnx', 'onnx/b.onnx'], 'auto'), /several \.onnx files; set MODEL_DTYPE .* or MODEL_ONNX_FILE/);
  assert.equal(choose(['config.json'], 'auto'), undefined, 'a config-only folder has nothing to choose');
});

test('the choice says why (the start-up line and /info show it)', () => {
  const c = chooseVariant(listVariants(ST), 'q8', 'cpu', VNNI)!;
  assert.equal(c.kind, 'q8');
  assert.match(c.reason, /q8 on x64 with VNNI, AVX-512, AVX2: made for avx512_vnni/);
  assert.match(chooseVariant(listVariants(OURS), 'auto', 'cpu', VNNI)!.reason, /fp32 on CPU keeps the exported scores/);
});

test('listVariants: only .onnx at the root or directly under onnx/, sizes attached, unknown names kept', () => {
  const v = listVariants(['model.onnx', 'onnx/', 'onnx/weird.onnx', 'onnx/sub/model.onnx', 'model.onnx_data'], new Map([['model.onnx', 123]]));
  assert.deepEqual(v, [
    { file: 'model.onnx', kind: 'fp32', bytes: 123 },
    { file: 'onnx/weird.onnx', kind: 'unknown' },
  ]);
});

test('parseDtype: names, file names, and nothing else', () => {
  for (const d of ['auto', 'fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4']) assert.equal(parseDtype(d), d);
  assert.deepEqual(parseDtype('onnx/model_O3.onnx'), { file: 'onnx/model_O3.onnx' });
  assert.equal(parseDtype('int4'), undefined);
  assert.equal(parseDtype('FP32'), undefined);
});

test('parseCpuFlags: VNNI (EVEX or VEX), AVX-512 needs F and BW, AVX2', () => {
  const info = (flags: string): string => `processor\t: 0\nmodel name\t: x\nflags\t\t: ${flags}\n\nprocessor\t: 1\nflags\t\t: ${flags}\n`;
  assert.deepEqual(parseCpuFlags(info('fpu sse avx2 avx512f avx512bw avx512_vnni'), 'x64'), VNNI);
  assert.deepEqual(parseCpuFlags(info('fpu avx2 avx_vnni'), 'x64'), { arch: 'x64', avx2: true, avx512: false, vnni: true });
  assert.deepEqual(parseCpuFlags(info('fpu avx2 avx512f'), 'x64'), AVX2);
  assert.deepEqual(parseCpuFlags('', 'arm64'), ARM);
});

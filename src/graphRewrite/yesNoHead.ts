/**
 * The load-time rewrite of a causal-LM export into a yes/no scorer. The export computes logits
 * [batch, seq, vocab] (151,669 floats per token for Qwen3: 310 MB per 512-token pair in fp32) and
 * the scorer needs 2 numbers per pair. The rewritten graph gathers each row's last real position
 * (the last attention_mask=1 column, so either padding side works) from the hidden state that fed
 * the LM head, and multiplies it by only the scoring tokens' head rows: output `yes_no_logits`
 * [batch, k], k = 1 or 2, in the order of the token ids given.
 *
 * Recognized heads: MatMul(h, W) with W an initializer [hidden, vocab] (an untied lm_head, stored
 * transposed as torch exports it), or W = Transpose(E) of an initializer [vocab, hidden] (a head tied
 * to the embedding), through Identity nodes; an optional Cast after the MatMul (fp16 exports) is
 * kept. A merged decoder (logits from an If on use_cache_branch) is first given its else branch
 * inlined (inlineBranch.ts). The scoring rows are copied into the new graph (read from raw_data or the external data
 * file); where they cannot be read they are picked by a Gather on the weight at run time. Anything
 * else returns a reason and the model is served unrewritten.
 */
import { encodeNode, encodeTensor, encodeValueInfo, type AttrValue } from '../onnxproto/onnxEncode';
import { DT, GRAPH, MODEL } from '../onnxproto/onnxFields';
import { attribute, type OnnxNode, type OnnxTensor, type Range } from '../onnxproto/onnxRead';
import { tensorData } from '../onnxproto/tensorData';
import { WIRE_LEN } from '../onnxproto/wireReader';
import { WireWriter } from '../onnxproto/wireWriter';
import { inlineCacheBranch } from './inlineBranch';
import type { ModelLayout } from './onnxLayout';

export const YES_NO_OUTPUT = 'yes_no_logits';

/** One piece of the output file: bytes copied from the source, or new bytes. */
export type Segment = Range | Uint8Array;

export type RewritePlan =
  | { readonly ok: true; readonly segments: Segment[]; readonly how: string; readonly dropped: string[] }
  | { readonly ok: false; readonly reason: string };

const P = 'yes_no_rewrite/';

const nodeProto = (opType: string, name: string, inputs: readonly string[], outputs: readonly string[], attributes: Record<string, AttrValue> = {}): WireWriter =>
  encodeNode({ opType, name, inputs, outputs, attributes });

/** An int64 initializer (raw_data little-endian). */
function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): WireWriter {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return encodeTensor(name, DT.INT64, dims, raw);
}

/** Reads `length` bytes at `byteOffset` of a tensor's data (inline raw_data or its external file). */
export type TensorReader = (t: OnnxTensor, byteOffset: number, length: number) => Uint8Array;

/** Bytes per element of the float types an LM head is stored in. */
const ELEM_BYTES: Readonly<Record<number, number>> = { [DT.FLOAT]: 4, [DT.FLOAT16]: 2, [DT.DOUBLE]: 8, [DT.BFLOAT16]: 2 };

/**
 * The scoring rows as a small [hidden, k] initializer, read from the weight at rewrite time. A
 * Gather on the full table would do the same at run time, but ONNX Runtime's constant folding
 * then loads the whole table (621 MB for Qwen3-0.6B) while the session starts.
 */
function bakedRows(table: OnnxTensor, tokenIds: readonly number[], rowsAreTokens: boolean, read: TensorReader | undefined): WireWriter | undefined {
  const es = ELEM_BYTES[table.dataType];
  if (!read || !es || !tensorData(table)) return undefined;
  const [d0, d1] = table.dims as [number, number];
  const hidden = rowsAreTokens ? d1 : d0;
  const k = tokenIds.length;
  const out = new Uint8Array(hidden * k * es);
  tokenIds.forEach((id, c) => {
    if (rowsAreTokens) {
      const row = read(table, id * d1 * es, d1 * es);
      for (let j = 0; j < hidden; j++) out.set(row.subarray(j * es, (j + 1) * es), (j * k + c) * es);
    } else {
      for (let j = 0; j < hidden; j++) out.set(read(table, (j * d1 + id) * es, es), (j * k + c) * es);
    }
  });
  return encodeTensor(`${P}weight`, table.dataType, [hidden, k], out);
}

export function planYesNoRewrite(layout: ModelLayout, tokenIds: readonly number[], logitsName = 'logits', maskName = 'attention_mask', read?: TensorReader): RewritePlan {
  const fail = (reason: string): RewritePlan => ({ ok: false, reason });
  if (layout.opset < 13) return fail(`opset ${layout.opset} is older than 13 (GatherND with batch_dims, ArgMax)`);
  const out = layout.outputs.find((o) => o.name === logitsName);
  if (!out) return fail(`the graph has no output named ${logitsName}`);
  if (!layout.inputs.some((i) => i.name === maskName)) return fail(`the graph has no ${maskName} input to find each row's last token`);
  // A merged decoder's logits come out of an If: rewrite the graph with its else branch inlined.
  const view = inlineCacheBranch(layout, logitsName);
  if ('reason' in view) return fail(view.reason);
  const producer = new Map<string, OnnxNode>();
  const uses = new Map<string, number>();
  for (const n of view.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  for (const o of layout.outputs) uses.set(o.name, (uses.get(o.name) ?? 0) + 1);

  const removed: OnnxNode[] = [];
  let last = producer.get(view.logits);
  let cast: OnnxNode | undefined;
  if (last?.opType === 'Cast') {
    cast = last;
    removed.push(last);
    last = producer.get(last.inputs[0]!);
  }
  if (!last) return fail(`${logitsName} is not produced by a node of the main graph (a merged decoder computes it inside an If branch)`);
  if (last.opType !== 'MatMul' || last.domain !== '') return fail(`${logitsName} comes from ${last.opType}, not the MatMul of an LM head`);
  if (cast && uses.get(last.outputs[0]!) !== 1) return fail('the LM-head MatMul output is used elsewhere');
  removed.push(last);
  const hidden = last.inputs[0]!;

  // Follow W back through Identity nodes to an initializer, possibly behind a Transpose.
  let w = last.inputs[1]!;
  const skipIdentity = (name: string): string => {
    for (let n = producer.get(name); n?.opType === 'Identity'; n = producer.get(name)) name = n.inputs[0]!;
    return name;
  };
  w = skipIdentity(w);
  const transpose = producer.get(w);
  const nodes: WireWriter[] = [];
  const inits: WireWriter[] = [int64Tensor(`${P}one`, [], [1])];
  const idsInit = (): number => inits.push(int64Tensor(`${P}token_ids`, [tokenIds.length], [...tokenIds]));
  let weight: string;
  let how: string;
  if (transpose?.opType === 'Transpose') {
    const perm = attribute(transpose, 'perm')?.ints;
    if (perm && !(perm.length === 2 && perm[0] === 1 && perm[1] === 0)) return fail(`the LM head's Transpose has perm [${perm.join(',')}]`);
    const e = skipIdentity(transpose.inputs[0]!);
    const table = view.initializers.get(e);
    if (!table || table.dims.length !== 2) return fail(`the LM head's Transpose input ${e} is not a 2-D initializer`);
    if (Math.max(...tokenIds) >= table.dims[0]!) return fail(`token id ${Math.max(...tokenIds)} is outside the LM head's ${table.dims[0]} rows`);
    const baked = bakedRows(table, tokenIds, true, read);
    if (baked) inits.push(baked);
    else {
      idsInit();
      nodes.push(nodeProto('Gather', `${P}rows`, [e, `${P}token_ids`], [`${P}rows`], { axis: { int: 0 } }));
      nodes.push(nodeProto('Transpose', `${P}rows_t`, [`${P}rows`], [`${P}weight`], { perm: { ints: [1, 0] } }));
    }
    weight = `${P}weight`;
    how = `tied head: rows [${tokenIds.join(', ')}] of ${e} [${table.dims.join(', ')}] (through a Transpose), ${baked ? 'copied into the graph' : 'gathered at run time'}`;
    if (uses.get(transpose.outputs[0]!) === 1) removed.push(transpose);
  } else {
    const table = view.initializers.get(w);
    if (!table || table.dims.length !== 2) return fail(`the LM head's weight ${w} is ${transpose ? `computed by ${transpose.opType}` : 'not a 2-D initializer'}`);
    if (Math.max(...tokenIds) >= table.dims[1]!) return fail(`token id ${Math.max(...tokenIds)} is outside the LM head's ${table.dims[1]} columns`);
    const baked = bakedRows(table, tokenIds, false, read);
    if (baked) inits.push(baked);
    else if (idsInit()) nodes.push(nodeProto('Gather', `${P}columns`, [w, `${P}token_ids`], [`${P}weight`], { axis: { int: 1 } }));
    weight = `${P}weight`;
    how = `lm_head: columns [${tokenIds.join(', ')}] of ${w} [${table.dims.join(', ')}], ${baked ? 'copied into the graph' : 'gathered at run time'}`;
  }

  // Last real position per row: argmax over mask * (1..L) picks the last 1 for left or right padding.
  nodes.push(
    nodeProto('Cast', `${P}mask_f`, [maskName], [`${P}mask_f`], { to: { int: 1 } }),
    nodeProto('Shape', `${P}mask_shape`, [maskName], [`${P}mask_shape`]),
    nodeProto('Gather', `${P}len`, [`${P}mask_shape`, `${P}one`], [`${P}len`], { axis: { int: 0 } }),
    nodeProto('Add', `${P}len1`, [`${P}len`, `${P}one`], [`${P}len1`]),
    nodeProto('Range', `${P}pos`, [`${P}one`, `${P}len1`, `${P}one`], [`${P}pos`]),
    nodeProto('Cast', `${P}pos_f`, [`${P}pos`], [`${P}pos_f`], { to: { int: 1 } }),
    nodeProto('Mul', `${P}weighted`, [`${P}mask_f`, `${P}pos_f`], [`${P}weighted`]),
    nodeProto('ArgMax', `${P}last`, [`${P}weighted`], [`${P}last`], { axis: { int: 1 }, keepdims: { int: 1 } }),
    nodeProto('GatherND', `${P}hidden_last`, [hidden, `${P}last`], [`${P}hidden_last`], { batch_dims: { int: 1 } }),
    nodeProto('MatMul', `${P}matmul`, [`${P}hidden_last`, weight], [cast ? `${P}matmul` : YES_NO_OUTPUT]),
  );
  if (cast) nodes.push(nodeProto('Cast', `${P}cast`, [`${P}matmul`], [YES_NO_OUTPUT], { to: { int: attribute(cast, 'to')?.i ?? DT.FLOAT } }));

  // Graph outputs: logits and the present.* KV caches go (nobody reads them when scoring).
  const dropped = layout.outputs.filter((o) => o.name === logitsName || o.name.startsWith('present')).map((o) => o.name);
  const removedRanges = new Set<number>(removed.map((n) => n.start));
  const removedValues = new Set(removed.flatMap((n) => n.outputs));
  const droppedSet = new Set(dropped);
  const kept: Segment[] = [];
  for (const f of view.graphFields) {
    if (f.field === GRAPH.node && removedRanges.has(f.start)) continue;
    if (f.field === GRAPH.output && droppedSet.has(layout.outputs.find((o) => o.start === f.start)?.name ?? '')) continue;
    if (f.field === GRAPH.valueInfo && removedValues.has(view.valueInfos.find((v) => v.start === f.start)?.name ?? '')) continue;
    kept.push(f);
  }
  const added = new WireWriter();
  for (const t of inits) added.messageField(GRAPH.initializer, t);
  for (const n of view.extraNodes) added.messageField(GRAPH.node, n);
  for (const n of nodes) added.messageField(GRAPH.node, n);
  // elem type 0 (undefined) only where the source's logits declared none
  added.messageField(GRAPH.output, encodeValueInfo(YES_NO_OUTPUT, out.elemType ?? 0, [out.dims[0] ?? 'batch_size', tokenIds.length]));
  kept.push(added.finish());
  const graphLength = kept.reduce((n, s) => n + size(s), 0);

  const segments: Segment[] = [];
  for (const f of layout.fields) {
    if (f.field !== MODEL.graph) segments.push(f);
    else segments.push(new WireWriter().tag(MODEL.graph, WIRE_LEN).varint(graphLength).finish(), ...kept);
  }
  return { ok: true, segments, how: view.how + how, dropped };
}

export function size(s: Segment): number {
  return s instanceof Uint8Array ? s.byteLength : s.end - s.start;
}

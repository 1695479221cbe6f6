/**
 * Finds the learned absolute position-embedding table of a graph, because its row count is a hard
 * limit: a position id past the last row makes ONNX Runtime fail inside Gather. A heuristic, tried
 * in this order, taking the first 2-d initializer it reaches:
 *
 *  1. an initializer named like a position table: `[prefix.]embeddings.position_embeddings[.weight]`
 *     (BERT, RoBERTa, XLM-R, DistilBERT, ELECTRA, ... as exported by torch) or `embed_positions`;
 *  2. input 3 of a fused `EmbedLayerNormalization` (onnxruntime's transformer optimizer moves the
 *     table there and may rename it);
 *  3. the data input of a `Gather` whose node or output name mentions position_embeddings (torch
 *     names nodes after modules: `/roberta/embeddings/position_embeddings/Gather`), followed back
 *     through Identity / Cast / DequantizeLinear (weight sharing, quantized exports) to an initializer.
 *
 * Relative-position weights (DeBERTa `rel_embeddings`) and ALiBi / rotary models have no such table;
 * then nothing is found and the limit comes from the config files.
 */

export interface GraphNode {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
}

export interface InitializerInfo {
  name: string;
  dims: number[];
  dataType: number;
}

const TABLE_NAME = /(^|[./_:])(position_embeddings|embed_positions)(\.weight)?$/i;
const PASS_THROUGH = new Set(['Identity', 'Cast', 'DequantizeLinear']);

export function findPositionTable(
  initializers: readonly InitializerInfo[],
  nodes: readonly GraphNode[],
): { name: string; rows: number } | undefined {
  const byName = new Map(initializers.map((i) => [i.name, i]));
  const asTable = (i: InitializerInfo | undefined): { name: string; rows: number } | undefined => {
    const rows = i?.dims[0];
    return i && i.dims.length === 2 && rows !== undefined && rows > 0 ? { name: i.name, rows } : undefined;
  };

  for (const init of initializers) {
    if (TABLE_NAME.test(init.name)) {
      const t = asTable(init);
      if (t) return t;
    }
  }

  const producerOf = new Map<string, GraphNode>();
  for (const n of nodes) for (const o of n.outputs) producerOf.set(o, n);
  const resolve = (name: string | undefined): InitializerInfo | undefined => {
    for (let hops = 0; name !== undefined && hops < 4; hops++) {
      const init = byName.get(name);
      if (init) return init;
      const p = producerOf.get(name);
      if (!p || !PASS_THROUGH.has(p.opType)) return undefined;
      name = p.inputs[0];
    }
    return undefined;
  };

  for (const n of nodes) {
    if (n.opType === 'EmbedLayerNormalization') {
      const t = asTable(resolve(n.inputs[3]));
      if (t) return t;
    }
  }
  for (const n of nodes) {
    if (n.opType !== 'Gather') continue;
    const named = [n.name, ...n.outputs].some((s) => /position_embeddings/i.test(s));
    if (!named) continue;
    const t = asTable(resolve(n.inputs[0]));
    if (t) return t;
  }
  return undefined;
}

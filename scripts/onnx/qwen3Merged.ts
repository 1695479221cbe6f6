// A merged decoder in optimum's decoder_model_merged.onnx layout: the main graph holds the shared
// weights and one If on the bool input use_cache_branch; its else branch is the model without a
// cache (present.* = this step's keys and values), its then branch the model reading
// past_key_values.*. Both branches read the graph inputs from the outer scope. To make a wrong
// choice of branch visible, the then branch here has its own weights (seed + 1, kept inside the
// branch): with use_cache_branch=false only the else branch, the same model as the causal
// presets with the same seed, may run.
import type { onnx } from 'onnx-proto';
import { DataType, type ModelMeta } from './graphBuilder';
import { buildQwen3Graph, type Qwen3Architecture } from './qwen3Graph';

type Graph = onnx.IGraphProto;

/** The branch as a subgraph: its values and local initializers renamed `${tag}/…`; the rest read from the outer scope. */
function asBranch(g: Graph, tag: string, outputs: readonly string[], keepLocal: (name: string) => boolean, shared: Map<string, onnx.ITensorProto>): Graph {
  const local = g.initializer!.filter((t) => keepLocal(t.name!));
  for (const t of g.initializer!) if (!keepLocal(t.name!)) shared.set(t.name!, t);
  const defined = new Set([...g.node!.flatMap((n) => n.output!), ...local.map((t) => t.name!)]);
  const ren = (x: string): string => (defined.has(x) ? `${tag}/${x}` : x);
  const byName = new Map(g.output!.map((o) => [o.name!, o]));
  return {
    name: `${tag}_branch`,
    node: g.node!.map((n) => ({ ...n, name: `${tag}/${n.name}`, input: n.input!.map(ren), output: n.output!.map(ren) })),
    initializer: local.map((t) => ({ ...t, name: ren(t.name!) })),
    output: outputs.map((name) => {
      const o = byName.get(name);
      if (!o) throw new Error(`the ${tag} branch has no output ${name}`);
      return { ...o, name: ren(name) };
    }),
  };
}

export function buildQwen3MergedModel(a: Qwen3Architecture, meta: ModelMeta): onnx.IModelProto {
  if (a.layout !== 'causal-past') throw new Error('a merged decoder is built from the causal-past layout');
  const withPast = buildQwen3Graph({ ...a, seed: a.seed + 1 }).model(meta);
  const noCache = buildQwen3Graph({ ...a, layout: 'causal', presentOutputs: true }).model(meta).graph!;
  const outer = withPast.graph!;
  const outputs = outer.output!.map((o) => o.name!);
  const shared = new Map<string, onnx.ITensorProto>();
  const thenBranch = asBranch(outer, 'then', outputs, () => true, shared);
  const elseBranch = asBranch(noCache, 'else', outputs, (name) => name.startsWith('const_'), shared);
  const GRAPH = 5; // AttributeProto.GRAPH
  return {
    ...withPast,
    graph: {
      name: 'main_graph',
      node: [{ name: 'optimum::if', opType: 'If', input: ['use_cache_branch'], output: outputs, attribute: [
        { name: 'then_branch', type: GRAPH, g: thenBranch },
        { name: 'else_branch', type: GRAPH, g: elseBranch },
      ] }],
      initializer: [...shared.values()],
      input: [...outer.input!, { name: 'use_cache_branch', type: { tensorType: { elemType: DataType.BOOL, shape: { dim: [{ dimValue: 1 }] } } } }],
      output: outer.output!,
    },
  };
}

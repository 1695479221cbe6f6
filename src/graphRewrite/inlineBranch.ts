/**
 * Merged decoders (optimum's decoder_model_merged.onnx): the whole model sits in the two branches
 * of an `If` on the `use_cache_branch` input (then: with past key/values, else: without), and the
 * logits are an output of that If, so no LM-head MatMul is visible in the main graph. The server
 * always feeds use_cache_branch=false, so the else branch is the model: this module returns a view
 * of the graph with the If replaced by the else branch's nodes and initializers (copied as the
 * same bytes; outer-scope names resolve directly once inlined, and ONNX forbids a subgraph to
 * reuse an outer name, so nothing collides), the branch's outputs bound to the If's outputs by
 * Identity nodes (the logits are followed straight to their producer instead), and the
 * use_cache_branch input gone. The then branch is dropped with the If. The usual LM-head rewrite
 * then runs on that view (yesNoHead.ts).
 */
import { encodeNode } from '../onnxproto/onnxEncode';
import { GRAPH } from '../onnxproto/onnxFields';
import { attribute, type OnnxNode, type OnnxTensor, type OnnxValueInfo, type Span } from '../onnxproto/onnxRead';
import type { WireWriter } from '../onnxproto/wireWriter';
import type { ModelLayout } from './onnxLayout';

/** The graph the LM-head rewrite works on: fields to copy, plus new nodes to add. */
export interface GraphView {
  readonly graphFields: Span[];
  readonly nodes: OnnxNode[];
  readonly initializers: Map<string, OnnxTensor>;
  readonly outputs: OnnxValueInfo[];
  readonly valueInfos: OnnxValueInfo[];
  /** New serialized NodeProtos (the Identity bindings of an inlined branch). */
  readonly extraNodes: WireWriter[];
  /** The value holding the logits (a branch output once an If is inlined). */
  readonly logits: string;
  /** How the view differs from the file ('' when it does not). */
  readonly how: string;
}

const P = 'yes_no_rewrite/';

export function plainView(layout: ModelLayout, logitsName: string): GraphView {
  return { ...layout, extraNodes: [], logits: logitsName, how: '' };
}

/**
 * The view with a merged decoder's If inlined; the plain view when the logits do not come from an
 * If; a reason when they do but the If cannot be resolved from use_cache_branch=false.
 */
export function inlineCacheBranch(layout: ModelLayout, logitsName: string): GraphView | { readonly reason: string } {
  const node = layout.nodes.find((n) => n.outputs.includes(logitsName));
  if (!node || node.opType !== 'If' || node.domain !== '') return plainView(layout, logitsName);
  const cond = node.inputs[0]!;
  const condInput = layout.inputs.find((i) => i.name === cond);
  if (!condInput || cond !== 'use_cache_branch') return { reason: `the logits come from an If on ${cond}, not on the use_cache_branch input the server feeds false` };
  const branch = attribute(node, 'else_branch')?.graph;
  if (!branch) return { reason: 'the If that computes the logits has no else_branch graph' };
  if (branch.outputs.length !== node.outputs.length) return { reason: `the If has ${node.outputs.length} outputs but its else_branch ${branch.outputs.length}` };

  const ifNode = node;
  const otherUses = layout.nodes.some((n) => n !== ifNode && n.inputs.includes(cond));
  const graphOutputs = new Set(layout.outputs.map((o) => o.name));
  const usedInMain = new Set(layout.nodes.filter((n) => n !== ifNode).flatMap((n) => n.inputs));
  const extraNodes: WireWriter[] = [];
  const renamed = new Map<string, string>();
  ifNode.outputs.forEach((out, k) => {
    const inner = branch.outputs[k]!.name;
    renamed.set(out, inner);
    // Bind only what is still read: the KV caches (present.*) and the logits are outputs the rewrite drops.
    const needed = usedInMain.has(out) || (graphOutputs.has(out) && out !== logitsName && !out.startsWith('present'));
    if (out !== logitsName && needed) extraNodes.push(encodeNode({ opType: 'Identity', name: `${P}bind_${k}`, inputs: [inner], outputs: [out] }));
  });

  const inlinedFields = branch.fields.filter((f) => f.field === GRAPH.node || f.field === GRAPH.initializer || f.field === GRAPH.valueInfo);
  const graphFields: Span[] = [];
  for (const f of layout.graphFields) {
    if (f.field === GRAPH.node && f.start === ifNode.start) graphFields.push(...inlinedFields);
    else if (f.field === GRAPH.input && f.start === condInput.start && !otherUses) continue;
    else graphFields.push(f);
  }
  const initializers = new Map(layout.initializers);
  for (const t of branch.initializers) initializers.set(t.name, t);
  return {
    graphFields,
    nodes: [...layout.nodes.filter((n) => n !== ifNode), ...branch.nodes],
    initializers,
    outputs: layout.outputs,
    valueInfos: [...layout.valueInfos, ...branch.valueInfos],
    extraNodes,
    // The rewrite follows the logits to the branch's own producer (an LM-head MatMul, or a Cast after it).
    logits: renamed.get(logitsName)!,
    how: `merged decoder: the If on ${cond} replaced by its else branch (${branch.nodes.length} nodes; the then branch dropped)${otherUses ? '' : `, ${cond} input removed`}; `,
  };
}

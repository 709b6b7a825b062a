/**
 * Finds the vision encoder's unfused attention blocks and plans com.microsoft.MultiHeadAttention
 * nodes for them (vision-graph-rewrite.ts). onnxruntime's CPU provider does not fuse this pattern
 * itself at level 'all' (its attention fusions look for BERT/GPT-2 layouts), and runs it as separate
 * QK^T, mask Add, Softmax, PV and Transpose kernels, each a pass over [heads, S, S] floats; its
 * MultiHeadAttention kernel does the same work per head in cache.
 *
 * The pattern (SigLIP as exported, with either order of scale and matmul):
 *   q = Transpose(Reshape(q3, [*, *, N, H]), [0,2,1,3]);  k likewise with [0,2,3,1] (or two Transposes)
 *   p = Softmax(MatMul(q * c, k) [* c'] [+ bias], axis=-1)
 *   out = Reshape(Transpose(MatMul(p, v), [0,2,1,3]), [*, *, N*H])
 * becomes out = MultiHeadAttention(q3, k3, v3, scale = c * c'), with the bias (the patch mask) as an If:
 * when it is all zeros, as for every tile the processor makes, the node without it (onnxruntime's
 * flash-attention kernel, which takes no bias: ~8% of an int8 tile faster than with one); else the
 * node with the bias. Flash attention sums in another order: features differ from the original's by
 * ~5e-7 relative in float32; with a bias the result is bit-identical.
 * Anything else (casts for float16, quantized score matmuls, head counts known only at run time) is left alone.
 */
import { onnx, type NodeProto } from './onnx-file.js';
import { GraphIndex, int64Constant } from './onnx-graph-index.js';

export const MS_DOMAIN = 'com.microsoft';

/** One matched attention block. */
export interface AttentionMatch {
  /** The [B, S, N*H] projections (or [B, S, N, H]). */
  query: string;
  key: string;
  value: string;
  /** The additive bias of the scores (a mask), broadcastable to [B, N, S, T]. */
  bias?: string;
  scale: number;
  numHeads: number;
  /** The node whose output the fused node makes instead. */
  anchor: NodeProto;
}

/** Follows Mul / Div by scalar constants back from `tensor` (each read only on this path); returns where it ends and the factor. */
function stripScale(g: GraphIndex, tensor: string): { tensor: string; factor: number } {
  let factor = 1;
  for (let step = 0; step < 4; step++) {
    const node = g.producer.get(tensor);
    if (!node || node.domain || !g.private(tensor)) break;
    if (node.opType === 'Mul') {
      const c0 = g.scalar(node.input[0]);
      const c1 = g.scalar(node.input[1]);
      if (c1 !== undefined) [factor, tensor] = [factor * c1, node.input[0]!];
      else if (c0 !== undefined) [factor, tensor] = [factor * c0, node.input[1]!];
      else break;
    } else if (node.opType === 'Div') {
      const c = g.scalar(node.input[1]);
      if (c === undefined || c === 0) break;
      [factor, tensor] = [factor / c, node.input[0]!];
    } else break;
  }
  return { tensor, factor };
}

function samePerm(node: NodeProto, perm: number[]): boolean {
  const p = GraphIndex.intsAttribute(node, 'perm');
  return p !== undefined && p.length === perm.length && p.every((x, i) => x === perm[i]);
}

/** Heads and head size from a Reshape to [*, *, N, H]: a constant shape, or a Concat ending in two constants. */
function headsOf(g: GraphIndex, reshape: NodeProto): { n: number; h: number } | undefined {
  const shape = reshape.input[1];
  let dims = g.constant(shape);
  if (!dims) {
    const concat = g.made(shape, 'Concat');
    if (concat?.input.length !== 4) return undefined;
    dims = [0, 0, g.scalar(concat.input[2]) ?? -1, g.scalar(concat.input[3]) ?? -1];
  }
  if (dims.length !== 4 || !(dims[2]! > 0) || !(dims[3]! > 0)) return undefined;
  return { n: dims[2]!, h: dims[3]! };
}

/** `tensor` = Transpose(Reshape(x, [*, *, N, H]), perm): x and the heads; each step read only here. */
function splitHeads(g: GraphIndex, tensor: string, perm: number[]): { x: string; n: number; h: number } | undefined {
  const transpose = g.made(tensor, 'Transpose');
  if (!transpose || !g.private(tensor) || !samePerm(transpose, perm)) return undefined;
  const reshape = g.made(transpose.input[0], 'Reshape');
  if (!reshape || !g.private(transpose.input[0]!)) return undefined;
  const heads = headsOf(g, reshape);
  return heads && { x: reshape.input[0]!, ...heads };
}

/** The transposed keys: Transpose(Reshape(k), [0,2,3,1]) or Transpose(Transpose(Reshape(k), [0,2,1,3]), [0,1,3,2]). */
function splitKeys(g: GraphIndex, tensor: string): { x: string; n: number; h: number } | undefined {
  const direct = splitHeads(g, tensor, [0, 2, 3, 1]);
  if (direct) return direct;
  const outer = g.made(tensor, 'Transpose');
  if (!outer || !g.private(tensor) || !samePerm(outer, [0, 1, 3, 2])) return undefined;
  return splitHeads(g, outer.input[0]!, [0, 2, 1, 3]);
}

/** The scores Q K^T (times constant factors) behind `tensor`. */
function matchScores(g: GraphIndex, tensor: string) {
  const outer = stripScale(g, tensor);
  const matmul = g.made(outer.tensor, 'MatMul');
  if (!matmul || !g.private(outer.tensor)) return undefined;
  const q = stripScale(g, matmul.input[0]!);
  const k = stripScale(g, matmul.input[1]!);
  const query = splitHeads(g, q.tensor, [0, 2, 1, 3]);
  const key = splitKeys(g, k.tensor);
  if (!query || !key || query.n !== key.n || query.h !== key.h) return undefined;
  return { query, key, scale: outer.factor * q.factor * k.factor };
}

/** Reshape(Transpose(MatMul(probs, v), [0,2,1,3]), [*, *, N*H]) after the softmax: the anchor and v. */
function matchContext(g: GraphIndex, probs: string) {
  const matmul = g.consumers.get(probs)?.[0];
  if (!matmul || matmul.opType !== 'MatMul' || matmul.domain || !g.private(probs) || matmul.input[0] !== probs) return undefined;
  const value = splitHeads(g, matmul.input[1]!, [0, 2, 1, 3]);
  const transpose = g.consumers.get(matmul.output[0]!)?.[0];
  if (!value || !transpose || transpose.opType !== 'Transpose' || !g.private(matmul.output[0]!) || !samePerm(transpose, [0, 2, 1, 3])) return undefined;
  const reshape = g.consumers.get(transpose.output[0]!)?.[0];
  if (!reshape || reshape.opType !== 'Reshape' || reshape.domain || !g.private(transpose.output[0]!) || reshape.input[0] !== transpose.output[0]) return undefined;
  return { value, anchor: reshape };
}

/** Whether a Reshape's target shape is [B, S, N*H] given its input [B, S, N, H]. */
function mergesHeads(g: GraphIndex, reshape: NodeProto, hidden: number): boolean {
  const dims = g.constant(reshape.input[1]);
  if (dims) {
    if (dims.length !== 3 || !(dims[2] === hidden || dims[2] === -1)) return false;
    const [b, s] = [dims[0]!, dims[1]!];
    // 0 copies the input's dimension; one -1 with a 0 beside it can only be that dimension again.
    if (dims[2] === -1) return b === 0 && s === 0;
    return (b === 0 && (s === 0 || s === -1)) || (s === 0 && b === -1);
  }
  const concat = g.made(reshape.input[1], 'Concat');
  return concat?.input.length === 3 && g.scalar(concat.input[2]) === hidden;
}

/** The attention block ending in `softmax`, or undefined when it is not the pattern above. */
export function matchAttention(g: GraphIndex, softmax: NodeProto): AttentionMatch | undefined {
  const axis = GraphIndex.intAttribute(softmax, 'axis', g.outline.opset >= 13 ? -1 : 1);
  if (softmax.domain || (axis !== -1 && axis !== 3)) return undefined;
  const input = softmax.input[0]!;
  let scores = matchScores(g, input);
  let bias: string | undefined;
  const add = g.made(input, 'Add');
  if (!scores && add && g.private(input)) {
    for (const [s, b] of [[0, 1], [1, 0]] as const) {
      scores = matchScores(g, add.input[s]!);
      if (scores) {
        bias = add.input[b];
        break;
      }
    }
  }
  if (!scores || !(scores.scale > 0) || !Number.isFinite(scores.scale)) return undefined;
  const context = matchContext(g, softmax.output[0]!);
  if (!context || context.value.n !== scores.query.n || context.value.h !== scores.query.h) return undefined;
  if (!mergesHeads(g, context.anchor, scores.query.n * scores.query.h)) return undefined;
  return {
    query: scores.query.x,
    key: scores.key.x,
    value: context.value.x,
    ...(bias ? { bias } : {}),
    scale: scores.scale,
    numHeads: scores.query.n,
    anchor: context.anchor,
  };
}


const INT = onnx.AttributeProto.AttributeType.INT;

function attentionNode(match: AttentionMatch, name: string, output: string, bias?: string): NodeProto {
  return onnx.NodeProto.create({
    name,
    opType: 'MultiHeadAttention',
    domain: MS_DOMAIN,
    input: bias ? [match.query, match.key, match.value, '', '', bias] : [match.query, match.key, match.value],
    output: [output],
    attribute: [
      { name: 'num_heads', type: INT, i: match.numHeads },
      { name: 'scale', type: onnx.AttributeProto.AttributeType.FLOAT, f: match.scale },
    ],
  });
}

function branch(name: string, nodes: NodeProto[], output: string): onnx.GraphProto {
  return onnx.GraphProto.create({
    name,
    node: nodes,
    output: [onnx.ValueInfoProto.create({ name: output, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } })],
  });
}

/**
 * The name of a bool scalar that is true when `bias` is all zeros, and the prefix of the int64 constants
 * the masked branch uses, made by nodes added to `prelude` the first time a bias is asked about (the
 * layers share one mask).
 */
function unmaskedTest(bias: string, conditions: Map<string, string>, prelude: NodeProto[]): { test: string; constants: string } {
  const known = conditions.get(bias);
  if (known) return { test: `${known}unmasked`, constants: known };
  const prefix = `smolvlm_fused/mask_${conditions.size}/`;
  const p = (name: string) => `${prefix}${name}`;
  const node = (opType: string, name: string, input: string[], attribute: onnx.IAttributeProto[] = []): NodeProto =>
    onnx.NodeProto.create({ name: p(name), opType, input, output: [p(name)], attribute });
  prelude.push(
    node('Constant', 'zero', [], [{ name: 'value_float', type: onnx.AttributeProto.AttributeType.FLOAT, f: 0 }]),
    node('Abs', 'abs', [bias]),
    node('ReduceMax', 'peak', [p('abs')], [{ name: 'keepdims', type: INT, i: 0 }]),
    node('Equal', 'unmasked', [p('peak'), p('zero')]),
    int64Constant(p('ones'), [1, 1]),
    int64Constant(p('one'), [1]),
    int64Constant(p('two'), [2]),
  );
  conditions.set(bias, prefix);
  return { test: p('unmasked'), constants: prefix };
}

/**
 * The nodes that replace a matched block, writing the anchor's output. Without a bias: the fused node.
 * With one: an If on whether the bias is all zeros (no patch masked, as for every tile the processor
 * makes), running the fused node without the bias (onnxruntime's flash-attention kernel, which takes
 * no bias) or with the bias broadcast to [b, n, S, T] (the kernel broadcasts only the first two dimensions).
 */
export function attentionNodes(match: AttentionMatch, prefix: string, conditions: Map<string, string>): NodeProto[] {
  const prelude: NodeProto[] = [];
  const output = match.anchor.output[0]!;
  if (!match.bias) return [attentionNode(match, `${prefix}attention`, output)];
  const node = (opType: string, name: string, input: string[], attribute: onnx.IAttributeProto[] = []): NodeProto =>
    onnx.NodeProto.create({ name: `${prefix}${name}`, opType, input, output: [`${prefix}${name}`], attribute });
  const unmasked = unmaskedTest(match.bias, conditions, prelude);
  // Constants stay in the outer graph: onnxruntime takes Constant nodes in branches for duplicate initializers once saved.
  const c = (name: string) => `${unmasked.constants}${name}`;
  const masked: NodeProto[] = [];
  for (const [x, name] of [[match.query, 'query'], [match.key, 'key']] as const) {
    masked.push(node('Shape', `${name}_shape`, [x]), node('Slice', `${name}_length`, [`${prefix}${name}_shape`, c('one'), c('two')]));
  }
  masked.push(node('Concat', 'bias_shape', [c('ones'), `${prefix}query_length`, `${prefix}key_length`], [{ name: 'axis', type: INT, i: 0 }]));
  masked.push(node('Expand', 'bias', [match.bias, `${prefix}bias_shape`]));
  masked.push(attentionNode(match, `${prefix}masked_attention`, `${prefix}masked_out`, `${prefix}bias`));
  const branches = onnx.NodeProto.create({
    name: `${prefix}if_unmasked`,
    opType: 'If',
    input: [unmasked.test],
    output: [output],
    attribute: [
      { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch('unmasked', [attentionNode(match, `${prefix}attention`, `${prefix}out`)], `${prefix}out`) },
      { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch('masked', masked, `${prefix}masked_out`) },
    ],
  });
  return [...prelude, branches];
}

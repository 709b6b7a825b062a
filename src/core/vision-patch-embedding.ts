/**
 * The int8 vision encoder's patch embedding: ConvInteger with a kernel as large as its stride (each
 * patch seen once) as a MatMulInteger over the patches (vision-graph-rewrite.ts). onnxruntime's CPU
 * ConvInteger unfolds the image and multiplies slowly (~20x fewer operations per second than its
 * MatMulInteger here: 5% of an int8 tile); integer sums are exact, so the result is bit-identical.
 *
 *   x [N, C, H, W] -> patches [N, H/k * W/k, C*k*k] -> MatMulInteger(patches, W^T [C*k*k, O]) -> [N, O, H/k, W/k]
 */
import { onnx, type NodeProto } from './onnx-file.js';
import { GraphIndex } from './onnx-graph-index.js';

const INT = onnx.AttributeProto.AttributeType.INT;
const INTS = onnx.AttributeProto.AttributeType.INTS;

/** The kernel side when `node` is a ConvInteger this rewrite handles (square kernel = stride, no padding, one group, constant 4-D weight), else undefined. */
export function patchConvKernel(g: GraphIndex, node: NodeProto): { k: number; out: number; fanIn: number } | undefined {
  if (node.opType !== 'ConvInteger' || node.domain) return undefined;
  const weight = g.outline.initializers.get(node.input[1] ?? '');
  const kernel = GraphIndex.intsAttribute(node, 'kernel_shape');
  const strides = GraphIndex.intsAttribute(node, 'strides');
  const pads = GraphIndex.intsAttribute(node, 'pads') ?? [0, 0, 0, 0];
  const dilations = GraphIndex.intsAttribute(node, 'dilations') ?? [1, 1];
  const autoPad = node.attribute.find((a) => a.name === 'auto_pad')?.s;
  if (!weight || weight.dims.length !== 4 || GraphIndex.intAttribute(node, 'group', 1) !== 1) return undefined;
  if (autoPad && autoPad.length > 0 && Buffer.from(autoPad).toString() !== 'NOTSET') return undefined;
  const [out, channels, kh, kw] = weight.dims as [number, number, number, number];
  const k = kh;
  const all = (list: number[] | undefined, value: number) => list !== undefined && list.length === 2 && list.every((x) => x === value);
  if (kw !== k || !all(kernel, k) || !all(strides, k) || !pads.every((p) => p === 0) || !all(dilations, 1)) return undefined;
  return { k, out, fanIn: channels * k * k };
}

function ints(name: string, values: number[]): NodeProto {
  return onnx.NodeProto.create({ name, opType: 'Constant', output: [name], attribute: [{ name: 'value_ints', type: INTS, ints: values }] });
}

/** The nodes computing the ConvInteger `node` (accepted by patchConvKernel) as a MatMulInteger, writing its output. */
export function patchMatMulNodes(node: NodeProto, kernel: { k: number; out: number; fanIn: number }, prefix: string): NodeProto[] {
  const { k, out, fanIn } = kernel;
  const [x, w, xZero, wZero] = [node.input[0]!, node.input[1]!, node.input[2] ?? '', node.input[3] ?? ''];
  const p = (name: string) => `${prefix}${name}`;
  const op = (opType: string, name: string, input: string[], attribute: onnx.IAttributeProto[] = []): NodeProto =>
    onnx.NodeProto.create({ name: p(name), opType, input, output: [p(name)], attribute });
  const axis0 = [{ name: 'axis', type: INT, i: 0 }];
  const zeroPoints = [xZero, wZero];
  while (zeroPoints.at(-1) === '') zeroPoints.pop();
  const constants = { c0: [0], c1: [1], c2: [2], c4: [4], c00: [0, 0], kk: [k, k], k: [k], axes23: [2, 3] };
  const shapes = { lead: [-1, fanIn / (k * k)], rows: [0, -1, fanIn], out: [out], w_shape: [out, fanIn] };
  return [
    ...Object.entries({ ...constants, ...shapes }).map(([name, values]) => ints(p(name), values)),
    op('Shape', 'shape', [x]),
    op('Slice', 'hw', [p('shape'), p('c2'), p('c4')]),
    op('Div', 'grid', [p('hw'), p('kk')]),
    op('Slice', 'gh', [p('grid'), p('c0'), p('c1')]),
    op('Slice', 'gw', [p('grid'), p('c1'), p('c2')]),
    op('Slice', 'batch', [p('shape'), p('c0'), p('c1')]),
    // Whole patches only, as the convolution reads them.
    op('Mul', 'used', [p('grid'), p('kk')]),
    op('Slice', 'x', [x, p('c00'), p('used'), p('axes23')]),
    op('Concat', 'split_shape', [p('lead'), p('gh'), p('k'), p('gw'), p('k')], axis0),
    op('Reshape', 'split', [p('x'), p('split_shape')]),
    op('Transpose', 'patch_major', [p('split')], [{ name: 'perm', type: INTS, ints: [0, 2, 4, 1, 3, 5] }]),
    op('Reshape', 'patches', [p('patch_major'), p('rows')]),
    op('Reshape', 'w2', [w, p('w_shape')]),
    op('Transpose', 'wt', [p('w2')], [{ name: 'perm', type: INTS, ints: [1, 0] }]),
    op('MatMulInteger', 'product', [p('patches'), p('wt'), ...zeroPoints]),
    op('Transpose', 'channels_first', [p('product')], [{ name: 'perm', type: INTS, ints: [0, 2, 1] }]),
    op('Concat', 'out_shape', [p('batch'), p('out'), p('grid')], axis0),
    onnx.NodeProto.create({ name: p('image'), opType: 'Reshape', input: [p('channels_first'), p('out_shape')], output: [...node.output] }),
  ];
}

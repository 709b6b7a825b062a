/**
 * Decoder graph rewrite: logits for the last position(s) only, and each step's new key/value rows as
 * outputs of their own.
 *
 * The official decoders return logits for every position (876 x 49280 floats, 173 MB, for one 13-tile
 * image on 256M) and spend a vocabulary-wide matmul on each prompt row although generation reads only
 * the last. The rewrite adds the input `num_logits_to_keep` (int64 scalar, as transformers' decoders
 * have it: k > 0 keeps the last k rows, 0 keeps all) and slices the lm_head's input rows before its
 * matmul. For int8 files the slice goes after DynamicQuantizeLinear, so the activation scale is still
 * computed over all rows and the kept logits are bit-identical to the original graph's.
 *
 * onnxruntime-node copies every fetched output into a fresh JS array, and the presents are the whole
 * cache (43 MB per step at 940 positions on 256M). The rewrite also outputs `new_key_values.*`, the
 * rows each present appends to its past, so the caller can fetch those instead and keep the cache
 * itself (decoder.ts).
 *
 * The rewritten copy goes to the optimized-graph cache (optimized-graph-cache.ts), never beside or over the original;
 * weights are streamed, not held in memory.
 */
import { onnx, type ModelOutline, type NodeProto } from './onnx-file.js';
import { int64Constant } from './onnx-graph-index.js';
import { rewriteModelFile, writeEditedModel } from './onnx-graph-writer.js';

/** Bump when the rewrite changes: cached copies of another version are not used. */
export const LOGITS_PATCH_VERSION = 2;
export const LOGITS_TO_KEEP = 'num_logits_to_keep';

/** The rewrite for the optimized-graph cache (optimized-graph-cache.ts). */
export const LOGITS_REWRITE = { tag: `decoder-logits-to-keep-v${LOGITS_PATCH_VERSION}`, write: writeDecoderWithLogitsToKeep };

/**
 * Writes a copy of the decoder at `source` whose logits can be limited to the last rows (see above) to
 * `target` (atomically). Returns undefined, or why the rewrite does not apply (then nothing is written):
 * the graph already has `num_logits_to_keep`, or its lm_head is not recognised.
 */
export function writeDecoderWithLogitsToKeep(source: string, target: string): string | undefined {
  return rewriteModelFile(source, target, planLogitsSlice, writeRewritten);
}

interface SlicePlan {
  /** Nodes of the new graph, in order. */
  nodes: NodeProto[];
  /** Tensors between the lm_head matmul and `logits` whose shape annotations no longer hold. */
  reshaped: Set<string>;
  /** Added graph outputs (`new_key_values.*`). */
  outputs: onnx.ValueInfoProto[];
}

/** Prefix of the added outputs holding a step's new key/value rows: `new_key_values.{i}.{key|value}`. */
export const NEW_KV_PREFIX = 'new_key_values.';

/**
 * For each `present.{i}.{key|value}` made by `Concat(past_key_values.{i}.{...}, new, axis=-2)`, an
 * Identity of `new` as output `new_key_values.{i}.{...}`: a caller that fetches these instead of the
 * presents gets the step's new rows only (a few KB) rather than a copy of the whole cache, and appends
 * them to its own copy of the cache. Empty when any present is made differently.
 */
function planNewRowOutputs(outline: ModelOutline, producer: Producers): { nodes: NodeProto[]; outputs: onnx.ValueInfoProto[] } {
  const nodes: NodeProto[] = [];
  const outputs: onnx.ValueInfoProto[] = [];
  const presents = outline.outputs.filter((o) => o.name.startsWith('present.'));
  if (presents.length === 0) return { nodes, outputs };
  for (const present of presents) {
    let concat = producer.get(present.name)?.node;
    while (concat?.opType === 'Identity') concat = producer.get(concat.input[0]!)?.node;
    const past = present.name.replace('present.', 'past_key_values.');
    const axis = Number(concat?.attribute.find((a) => a.name === 'axis')?.i ?? NaN);
    if (!concat || concat.opType !== 'Concat' || concat.input.length !== 2 || concat.input[0] !== past || (axis !== 2 && axis !== -2)) {
      return { nodes: [], outputs: [] };
    }
    const name = present.name.replace('present.', NEW_KV_PREFIX);
    nodes.push(onnx.NodeProto.create({ name: `smolvlm_new_rows/${name}`, opType: 'Identity', input: [concat.input[1]!], output: [name] }));
    const info = onnx.ValueInfoProto.decode(onnx.ValueInfoProto.encode(present).finish());
    info.name = name;
    const dims = info.type?.tensorType?.shape?.dim;
    if (dims && dims.length === 4) dims[2] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'sequence_length' });
    outputs.push(info);
  }
  return { nodes, outputs };
}

const MATMULS = new Set(['MatMul', 'MatMulInteger', 'MatMulNBits', 'Gemm', 'FusedMatMul', 'MatMulIntegerToFloat']);
const ELEMENTWISE = new Set(['Cast', 'Mul', 'Add', 'Sub', 'Div', 'Identity', 'Tanh']);

type Producers = Map<string, { node: NodeProto; index: number }>;

/**
 * Constant-like tensors: weights, Constant nodes, the scale / zero point of a DynamicQuantizeLinear (scalars),
 * and elementwise results of those.
 */
function constantLikeTest(outline: ModelOutline, producer: Producers): (name: string) => boolean {
  const graphInputs = new Set(outline.inputs.map((i) => i.name));
  const memo = new Map<string, boolean>();
  const constantLike = (name: string, depth = 0): boolean => {
    if (name === '' || outline.initializers.has(name)) return true;
    if (graphInputs.has(name)) return false;
    const cached = memo.get(name);
    if (cached !== undefined) return cached;
    const p = producer.get(name);
    let result = false;
    if (!p) result = true;
    else if (p.node.opType === 'Constant') result = true;
    else if (p.node.opType === 'DynamicQuantizeLinear') result = p.index > 0;
    else if (ELEMENTWISE.has(p.node.opType) && depth < 8) result = p.node.input.every((i) => constantLike(i, depth + 1));
    memo.set(name, result);
    return result;
  };
  return (name) => constantLike(name);
}

/**
 * Walks back from `logits` through elementwise ops to the lm_head matmul; returns it with the tensors on the way
 * (whose shapes change once rows are sliced), or why the graph does not fit.
 */
function findLmHead(outline: ModelOutline, producer: Producers): { matmul: NodeProto; reshaped: Set<string> } | string {
  const consumers = new Map<string, number>();
  for (const node of outline.nodes) for (const name of node.input) consumers.set(name, (consumers.get(name) ?? 0) + 1);
  const constantLike = constantLikeTest(outline, producer);
  const reshaped = new Set<string>(['logits']);
  let tensor = 'logits';
  for (let step = 0; step < 12; step++) {
    const p = producer.get(tensor);
    if (!p) return `no node produces ${tensor}`;
    const { node } = p;
    if ((consumers.get(tensor) ?? 0) > (tensor === 'logits' ? 0 : 1)) return `${tensor} has other consumers`;
    if (MATMULS.has(node.opType) && (node.domain === '' || node.domain === 'com.microsoft' || !node.domain)) {
      if (!constantLike(node.input[1] ?? '')) return `${node.name || node.opType}: the weight is not constant`;
      return { matmul: node, reshaped };
    }
    if (!ELEMENTWISE.has(node.opType)) return `unexpected ${node.opType} between the lm_head and logits`;
    const activations = node.input.filter((i) => !constantLike(i));
    if (activations.length !== 1) return `${node.name || node.opType}: cannot tell the activation input`;
    tensor = activations[0]!;
    reshaped.add(tensor);
  }
  return 'no lm_head matmul found';
}

const SLICE_PREFIX = 'smolvlm_logits_to_keep/';


/** The nodes that slice the last `num_logits_to_keep` rows of `input`, ending in the tensor they return. */
function rowSliceNodes(input: string, opset: number): { nodes: NodeProto[]; sliced: string } {
  const op = (opType: string, name: string, inputs: string[]): NodeProto =>
    onnx.NodeProto.create({ name: `${SLICE_PREFIX}${name}`, opType, input: inputs, output: [`${SLICE_PREFIX}${name}`] });
  const sliced = `${SLICE_PREFIX}rows`;
  const nodes = [
    int64Constant(`${SLICE_PREFIX}one`, [1n]),
    op('Reshape', 'k', [LOGITS_TO_KEEP, `${SLICE_PREFIX}one`]),
    op('Neg', 'start', [`${SLICE_PREFIX}k`]),
    int64Constant(`${SLICE_PREFIX}end`, [0x7fffffffffffffffn]),
    int64Constant(`${SLICE_PREFIX}axis`, [opset >= 11 ? -2n : 1n]),
    onnx.NodeProto.create({
      name: sliced,
      opType: 'Slice',
      input: [input, `${SLICE_PREFIX}start`, `${SLICE_PREFIX}end`, `${SLICE_PREFIX}axis`],
      output: [sliced],
    }),
  ];
  return { nodes, sliced };
}

/** Finds the lm_head matmul feeding `logits` and the new node list with a row slice on its input, or why not. */
export function planLogitsSlice(outline: ModelOutline): SlicePlan | string {
  const { nodes, initializers } = outline;
  if (outline.inputs.some((i) => i.name === LOGITS_TO_KEEP)) return `the graph already has ${LOGITS_TO_KEEP}`;
  if (!outline.outputs.some((o) => o.name === 'logits')) return 'the graph has no logits output';
  if (outline.opset < 10) return `opset ${outline.opset} is older than Slice with inputs`;
  // External data is found relative to the model file, so a copy elsewhere would not find it.
  if ([...initializers.values()].some((i) => i.external)) return 'the weights are in external data files';
  const producer: Producers = new Map();
  for (const node of nodes) node.output.forEach((name, index) => producer.set(name, { node, index }));
  const found = findLmHead(outline, producer);
  if (typeof found === 'string') return found;
  const { matmul, reshaped } = found;
  const input = matmul.input[0]!;
  // A DynamicQuantizeMatMul-style op that quantizes its float input itself would change with fewer rows.
  if (matmul.opType === 'MatMulIntegerToFloat' && producer.get(input)?.node.opType !== 'DynamicQuantizeLinear') {
    return 'the lm_head quantizes its input inside the op';
  }
  const slice = rowSliceNodes(input, outline.opset);
  const patchedMatmul = onnx.NodeProto.create({ ...matmul, input: [slice.sliced, ...matmul.input.slice(1)] });
  const out = nodes.flatMap((node) => (node === matmul ? [...slice.nodes, patchedMatmul] : [node]));
  for (const name of matmul.output) reshaped.add(name);
  const newRows = planNewRowOutputs(outline, producer);
  return { nodes: [...out, ...newRows.nodes], reshaped, outputs: newRows.outputs };
}

/** Writes the model with the planned graph changes to `target` (atomically). */
function writeRewritten(outline: ModelOutline, plan: SlicePlan, target: string): void {
  writeEditedModel(
    outline,
    {
      nodes: plan.nodes,
      dropValueInfo: plan.reshaped,
      addInputs: [
        onnx.ValueInfoProto.create({
          name: LOGITS_TO_KEEP,
          type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: [] } } },
        }),
      ],
      editOutput: (output) => {
        if (output.name !== 'logits') return undefined;
        const dims = output.type?.tensorType?.shape?.dim;
        if (dims && dims.length >= 2) dims[dims.length - 2] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'logits_sequence_length' });
        return output;
      },
      addOutputs: plan.outputs,
    },
    target,
  );
}

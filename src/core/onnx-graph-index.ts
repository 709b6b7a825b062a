/**
 * Lookups over a model outline for pattern-matching rewrites: which node makes a tensor, which nodes
 * read it, and the values of small constant tensors (shapes, scalars) from initializers or Constant nodes.
 */
import { onnx, type ModelOutline, type NodeProto } from './onnx-file.js';

const DataType = onnx.TensorProto.DataType;

/** Constants larger than this are never read (a shape or a scalar is a few values). */
const MAX_CONSTANT_VALUES = 16;

export class GraphIndex {
  readonly producer = new Map<string, NodeProto>();
  readonly consumers = new Map<string, NodeProto[]>();
  readonly graphOutputs: Set<string>;

  constructor(readonly outline: ModelOutline) {
    for (const node of outline.nodes) {
      for (const name of node.output) if (name) this.producer.set(name, node);
      for (const name of node.input) {
        if (!name) continue;
        const list = this.consumers.get(name);
        if (list) list.push(node);
        else this.consumers.set(name, [node]);
      }
    }
    this.graphOutputs = new Set(outline.outputs.map((o) => o.name));
  }

  /** The node making `tensor` when it is of `opType` (default domain), else undefined. */
  made(tensor: string | undefined, opType: string): NodeProto | undefined {
    const node = tensor ? this.producer.get(tensor) : undefined;
    return node && node.opType === opType && !node.domain ? node : undefined;
  }

  /** Whether `tensor` is read by exactly one node and is not a graph output (so that node may absorb it). */
  private(tensor: string): boolean {
    return (this.consumers.get(tensor)?.length ?? 0) === 1 && !this.graphOutputs.has(tensor);
  }

  /** The values of a small constant (initializer or Constant node) of a float or integer type; undefined otherwise. */
  constant(name: string | undefined): number[] | undefined {
    if (!name) return undefined;
    const init = this.outline.initializers.get(name);
    if (init) {
      if (init.external || init.dataOffset === undefined || init.dataLength === undefined) return undefined;
      if (init.dims.reduce((n, d) => n * d, 1) > MAX_CONSTANT_VALUES) return undefined;
      return decodeRaw(init.dataType, this.outline.file.bytes(init.dataOffset, init.dataLength));
    }
    const node = this.made(name, 'Constant');
    const t = node?.attribute.find((a) => a.name === 'value')?.t;
    if (!t) return undefined;
    if (t.rawData && t.rawData.length > 0) return decodeRaw(t.dataType ?? 0, Buffer.from(t.rawData));
    const typed = t.dataType === DataType.FLOAT ? t.floatData : t.dataType === DataType.INT64 ? t.int64Data : t.dataType === DataType.INT32 ? t.int32Data : undefined;
    if (typed && typed.length > 0 && typed.length <= MAX_CONSTANT_VALUES) return typed.map(Number);
    return undefined;
  }

  /** The value of a one-element constant, else undefined. */
  scalar(name: string | undefined): number | undefined {
    const values = this.constant(name);
    return values?.length === 1 ? values[0] : undefined;
  }

  /** An integer attribute of a node, or `fallback` when absent. */
  static intAttribute(node: NodeProto, name: string, fallback?: number): number | undefined {
    const a = node.attribute.find((x) => x.name === name);
    return a ? Number(a.i) : fallback;
  }

  /** An integer-list attribute of a node, or undefined when absent. */
  static intsAttribute(node: NodeProto, name: string): number[] | undefined {
    return node.attribute.find((x) => x.name === name)?.ints?.map(Number);
  }
}

function decodeRaw(dataType: number, bytes: Buffer): number[] | undefined {
  if (bytes.length > MAX_CONSTANT_VALUES * 8) return undefined;
  const out: number[] = [];
  switch (dataType) {
    case DataType.FLOAT:
      for (let i = 0; i + 4 <= bytes.length; i += 4) out.push(bytes.readFloatLE(i));
      return out;
    case DataType.DOUBLE:
      for (let i = 0; i + 8 <= bytes.length; i += 8) out.push(bytes.readDoubleLE(i));
      return out;
    case DataType.INT64:
      for (let i = 0; i + 8 <= bytes.length; i += 8) out.push(Number(bytes.readBigInt64LE(i)));
      return out;
    case DataType.INT32:
      for (let i = 0; i + 4 <= bytes.length; i += 4) out.push(bytes.readInt32LE(i));
      return out;
    default:
      return undefined;
  }
}

/**
 * The nodes still needed: those whose outputs reach a graph output (walking back through inputs),
 * in their original order. Rewrites leave the nodes they bypass in place and drop them here.
 */
export function liveNodes(nodes: readonly NodeProto[], graphOutputs: Iterable<string>): NodeProto[] {
  const producer = new Map<string, NodeProto>();
  for (const node of nodes) for (const name of node.output) if (name) producer.set(name, node);
  const live = new Set<NodeProto>();
  const stack = [...graphOutputs];
  while (stack.length > 0) {
    const node = producer.get(stack.pop()!);
    if (!node || live.has(node)) continue;
    live.add(node);
    stack.push(...readNames(node));
  }
  return nodes.filter((node) => live.has(node));
}

/** The tensors a node reads: its inputs and what its subgraphs (If/Loop bodies) name. */
export function readNames(node: NodeProto): string[] {
  const names = node.input.filter((name) => name);
  for (const a of node.attribute) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) names.push(...outerNames(g));
  return names;
}

function outerNames(graph: onnx.IGraphProto): string[] {
  const names: string[] = [];
  for (const node of graph.node ?? []) {
    names.push(...(node.input ?? []));
    for (const a of node.attribute ?? []) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) names.push(...outerNames(g));
  }
  return names;
}

/** A `Constant` node named `name` whose output (also `name`) is a 1-D int64 tensor of `values`. */
export function int64Constant(name: string, values: readonly (number | bigint)[]): NodeProto {
  return onnx.NodeProto.create({
    name,
    opType: 'Constant',
    output: [name],
    attribute: [
      onnx.AttributeProto.create({
        name: 'value',
        type: onnx.AttributeProto.AttributeType.TENSOR,
        t: onnx.TensorProto.create({
          dataType: onnx.TensorProto.DataType.INT64,
          dims: [values.length],
          rawData: new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer),
        }),
      }),
    ],
  });
}

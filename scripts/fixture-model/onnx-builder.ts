/**
 * A small ONNX graph builder and a streaming model writer.
 *
 * Nodes, graph inputs and outputs are encoded with `proto/onnx.js` (protobufjs, generated from the
 * official onnx.proto); initializers are written one at a
 * time straight to the file (their byte sizes are known up front, so every length prefix can be
 * computed before any weight exists), which keeps the full-size presets to one tensor in memory.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { onnx } from '../../proto/onnx.js';

export const DT = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
} as const;
export type DataType = (typeof DT)[keyof typeof DT];

const ELEMENT_BYTES: Record<DataType, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 9: 1, 10: 2 };

export type Dim = number | string;

/** Attribute values: numbers are INT, `f()` marks a FLOAT, arrays of numbers are INTS. */
export type AttrValue = number | number[] | string | { float: number } | { tensor: ConstTensor };
export const f = (x: number): { float: number } => ({ float: x });

export interface ConstTensor {
  dataType: DataType;
  dims: number[];
  bytes: Uint8Array;
}

export interface Initializer {
  name: string;
  dataType: DataType;
  dims: number[];
  /** Produces the raw little-endian bytes; called once, when the tensor is written. */
  produce: () => Uint8Array;
}

export function byteLength(dataType: DataType, dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1) * ELEMENT_BYTES[dataType];
}

export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

interface OpOptions {
  domain?: string;
  /** Number of outputs (default 1). */
  outputs?: number;
}

export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  readonly initializers: Initializer[] = [];
  private readonly names = new Set<string>();
  private readonly constCache = new Map<string, string>();
  private counter = 0;
  private prefix = '';

  constructor(readonly name: string) {}

  /** Runs `body` with node names prefixed by `scope` (for readable graphs only). */
  scoped<T>(scope: string, body: () => T): T {
    const saved = this.prefix;
    this.prefix = `${saved}/${scope}`;
    try {
      return body();
    } finally {
      this.prefix = saved;
    }
  }

  input(name: string, dataType: DataType, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, dataType, dims));
    this.claim(name);
    return name;
  }

  /** Declares `value` as a graph output named `name` (adds an Identity when the names differ). */
  output(value: string, name: string, dataType: DataType, dims: Dim[]): void {
    if (value !== name) {
      this.claim(name);
      this.nodes.push({ opType: 'Identity', name: `${this.prefix}/Identity_${this.counter++}`, input: [value], output: [name] });
    }
    this.outputs.push(valueInfo(name, dataType, dims));
  }

  initializer(name: string, dataType: DataType, dims: number[], produce: () => Uint8Array): string {
    this.claim(name);
    this.initializers.push({ name, dataType, dims, produce });
    return name;
  }

  /** A small constant stored as an initializer; identical constants are shared. */
  constant(dataType: DataType, dims: number[], values: ArrayBufferView): string {
    const bytes = new Uint8Array(bytesOf(values));
    const key = `${dataType}|${dims.join(',')}|${Buffer.from(bytes).toString('base64')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = `const_${this.constCache.size}`;
    this.constCache.set(key, name);
    return this.initializer(name, dataType, dims, () => bytes);
  }

  i64(values: number[], dims: number[] = [values.length]): string {
    return this.constant(DT.INT64, dims, BigInt64Array.from(values, (v) => BigInt(v)));
  }

  /** A float constant in the given float type (FLOAT or FLOAT16). */
  scalar(value: number, dataType: DataType = DT.FLOAT): string {
    if (dataType === DT.FLOAT16) return this.constant(DT.FLOAT16, [], Uint16Array.of(toHalf(value)));
    return this.constant(DT.FLOAT, [], Float32Array.of(value));
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, options: OpOptions = {}): string {
    return this.opN(opType, inputs, attrs, { ...options, outputs: 1 })[0]!;
  }

  opN(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, options: OpOptions = {}): string[] {
    const id = this.counter++;
    const base = `${this.prefix}/${opType}_${id}`;
    const outputs = Array.from({ length: options.outputs ?? 1 }, (_, i) => this.claim(`${base}_output_${i}`));
    const node: onnx.INodeProto = {
      opType,
      name: base,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    };
    if (options.domain) node.domain = options.domain;
    this.nodes.push(node);
    return outputs;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`duplicate value name ${name}`);
    this.names.add(name);
    return name;
  }
}

function valueInfo(name: string, elemType: DataType, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.TENSOR, t: { dataType: v.tensor.dataType, dims: v.tensor.dims, rawData: v.tensor.bytes } };
}

// ---------------------------------------------------------------------------------------------
// float16

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE float32 -> float16 bits, round to nearest even. */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

export function toHalfArray(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = toHalf(src[i]!);
  return out;
}

// ---------------------------------------------------------------------------------------------
// streaming writer

export interface ModelMeta {
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  docString?: string;
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

const GRAPH_FIELD_TAG = (7 << 3) | 2; // ModelProto.graph
const INITIALIZER_TAG = (5 << 3) | 2; // GraphProto.initializer
const RAW_DATA_TAG = (9 << 3) | 2; // TensorProto.raw_data

interface ModelPlan {
  header: Uint8Array;
  body: Uint8Array;
  inits: { init: Initializer; head: Uint8Array; dataLen: number; tensorLen: number }[];
  graphLen: number;
  total: number;
}

function planModel(graph: GraphBuilder, meta: ModelMeta): ModelPlan {
  const header = onnx.ModelProto.encode({
    irVersion: 8,
    producerName: meta.producerName,
    producerVersion: meta.producerVersion,
    docString: meta.docString ?? '',
    opsetImport: meta.opsets.map((o) => ({ domain: o.domain, version: o.version })),
  }).finish();
  const body = onnx.GraphProto.encode({
    name: graph.name,
    node: graph.nodes,
    input: graph.inputs,
    output: graph.outputs,
  }).finish();
  const inits = graph.initializers.map((init) => {
    const head = onnx.TensorProto.encode({ name: init.name, dataType: init.dataType, dims: init.dims }).finish();
    const dataLen = byteLength(init.dataType, init.dims);
    const tensorLen = head.length + 1 + varintLength(dataLen) + dataLen;
    return { init, head, dataLen, tensorLen };
  });
  const graphLen = inits.reduce((sum, t) => sum + 1 + varintLength(t.tensorLen) + t.tensorLen, body.length);
  return { header, body, inits, graphLen, total: header.length + 1 + varintLength(graphLen) + graphLen };
}

/** The size in bytes `writeModel` would write, without generating any weight. */
export function modelByteLength(graph: GraphBuilder, meta: ModelMeta): number {
  return planModel(graph, meta).total;
}

/**
 * Writes `graph` as a self-contained `.onnx` file (IR 8), streaming the initializers: the ModelProto
 * header, the graph field's tag and length, the graph's nodes and value infos, then one
 * initializer at a time (protobuf does not care about field order).
 */
export function writeModel(path: string, graph: GraphBuilder, meta: ModelMeta): number {
  const { header, body, inits, graphLen } = planModel(graph, meta);
  const fd = openSync(path, 'w');
  let written = 0;
  const put = (bytes: Uint8Array): void => {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    written += bytes.length;
  };
  try {
    put(header);
    put(Uint8Array.of(GRAPH_FIELD_TAG));
    put(varint(graphLen));
    put(body);
    for (const { init, head, dataLen, tensorLen } of inits) {
      const data = init.produce();
      if (data.length !== dataLen) {
        throw new Error(`initializer ${init.name}: produced ${data.length} bytes, expected ${dataLen}`);
      }
      put(Uint8Array.of(INITIALIZER_TAG));
      put(varint(tensorLen));
      put(head);
      put(Uint8Array.of(RAW_DATA_TAG));
      put(varint(dataLen));
      put(data);
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

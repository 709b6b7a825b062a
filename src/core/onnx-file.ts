/**
 * Reading the structure of an ONNX file without loading its weights: the protobuf wire format is
 * walked with positioned reads, small messages (nodes, inputs, outputs) are decoded with
 * `proto/onnx.js` (protobufjs, generated from the official onnx.proto), and initializers are only located (name, type, dims and where their bytes are in the file).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { onnx } from '../../proto/onnx.js';

export { onnx };
export type NodeProto = onnx.NodeProto;

/** Protobuf wire types. */
const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const FIXED32 = 5;

/** One field of a message: where its value is in the file (for length-delimited fields) or its varint. */
export interface Field {
  field: number;
  wire: number;
  /** Offset of the tag (the field starts here). */
  start: number;
  /** Offset after the field. */
  end: number;
  /** Offset of the value (after the length prefix for length-delimited fields). */
  valueStart: number;
  /** The value of a varint field. */
  varint: number;
}

/** A file read through a window, for many small positioned reads. */
export class ProtoFile {
  readonly size: number;
  #fd: number;
  #window = Buffer.alloc(0);
  #windowStart = 0;

  constructor(readonly path: string) {
    this.#fd = openSync(path, 'r');
    this.size = fstatSync(this.#fd).size;
  }

  close(): void {
    closeSync(this.#fd);
  }

  /** `length` bytes at `offset` (a view into the window when it fits; do not keep it across reads). */
  bytes(offset: number, length: number): Buffer {
    if (offset < this.#windowStart || offset + length > this.#windowStart + this.#window.length) {
      const size = Math.min(Math.max(length, 1 << 20), this.size - offset);
      const window = Buffer.allocUnsafe(size);
      let read = 0;
      while (read < size) {
        const n = readSync(this.#fd, window, read, size - read, offset + read);
        if (n === 0) break;
        read += n;
      }
      if (read < length) throw new Error(`${this.path}: unexpected end of file at ${offset + read}`);
      this.#window = window.subarray(0, read);
      this.#windowStart = offset;
    }
    return this.#window.subarray(offset - this.#windowStart, offset - this.#windowStart + length);
  }

  /** A copy of `length` bytes at `offset` into `target` (for large reads that should not go through the window). */
  readInto(offset: number, target: Uint8Array): void {
    let read = 0;
    while (read < target.length) {
      const n = readSync(this.#fd, target, read, target.length - read, offset + read);
      if (n === 0) throw new Error(`${this.path}: unexpected end of file at ${offset + read}`);
      read += n;
    }
  }

  #varint(offset: number): [value: number, next: number] {
    const bytes = this.bytes(offset, Math.min(10, this.size - offset));
    let value = 0;
    let scale = 1;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return [value, offset + i + 1];
      scale *= 128;
    }
    throw new Error(`${this.path}: bad varint at ${offset}`);
  }

  /** The fields of the message between `start` and `end`, in file order. */
  *fields(start = 0, end = this.size): Generator<Field> {
    let at = start;
    while (at < end) {
      const [tag, afterTag] = this.#varint(at);
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      let valueStart = afterTag;
      let next: number;
      let varint = 0;
      switch (wire) {
        case VARINT:
          [varint, next] = this.#varint(afterTag);
          break;
        case FIXED64:
          next = afterTag + 8;
          break;
        case FIXED32:
          next = afterTag + 4;
          break;
        case BYTES: {
          const [length, afterLength] = this.#varint(afterTag);
          valueStart = afterLength;
          next = afterLength + length;
          break;
        }
        default:
          throw new Error(`${this.path}: unsupported protobuf wire type ${wire} at ${at}`);
      }
      if (next > end) throw new Error(`${this.path}: truncated protobuf field at ${at}`);
      yield { field, wire, start: at, end: next, valueStart, varint };
      at = next;
    }
  }

  /** The value bytes of a length-delimited field (a view; copy it to keep it). */
  value(f: Field): Buffer {
    return this.bytes(f.valueStart, f.end - f.valueStart);
  }
}

/** Where an initializer is and what it holds; `dataOffset` is set for tensors stored as raw_data in the file. */
export interface InitializerInfo {
  name: string;
  dataType: number;
  dims: number[];
  /** Offset and length of raw_data in the file; absent for external data or typed fields. */
  dataOffset?: number;
  dataLength?: number;
  external: boolean;
}

/** Model fields (ModelProto). */
export const MODEL = { opsetImport: 8, graph: 7 } as const;
/** Graph fields (GraphProto). */
export const GRAPH = { node: 1, initializer: 5, input: 11, output: 12, valueInfo: 13, sparseInitializer: 15 } as const;
/** Tensor fields (TensorProto). */
const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9, dataLocation: 14 } as const;

export function readInitializerInfo(file: ProtoFile, f: Field): InitializerInfo {
  const info: InitializerInfo = { name: '', dataType: 0, dims: [], external: false };
  for (const t of file.fields(f.valueStart, f.end)) {
    if (t.field === TENSOR.name && t.wire === BYTES) info.name = file.value(t).toString('utf8');
    else if (t.field === TENSOR.dataType && t.wire === VARINT) info.dataType = t.varint;
    else if (t.field === TENSOR.dims && t.wire === VARINT) info.dims.push(t.varint);
    else if (t.field === TENSOR.dims && t.wire === BYTES) {
      // packed dims
      const bytes = Buffer.from(file.value(t));
      let value = 0;
      let scale = 1;
      for (const b of bytes) {
        value += (b & 0x7f) * scale;
        scale *= 128;
        if (b < 0x80) {
          info.dims.push(value);
          value = 0;
          scale = 1;
        }
      }
    } else if (t.field === TENSOR.rawData && t.wire === BYTES) {
      info.dataOffset = t.valueStart;
      info.dataLength = t.end - t.valueStart;
    } else if (t.field === TENSOR.dataLocation && t.wire === VARINT) info.external = t.varint === 1;
  }
  return info;
}

/** The parts of a model needed to rewrite or read small graphs: nodes, I/O, initializer locations. */
export interface ModelOutline {
  file: ProtoFile;
  /** The graph field of the model. */
  graph: Field;
  /** Every field of the graph, in file order. */
  graphFields: Field[];
  nodes: NodeProto[];
  inputs: onnx.ValueInfoProto[];
  outputs: onnx.ValueInfoProto[];
  initializers: Map<string, InitializerInfo>;
  /** Default-domain opset version. */
  opset: number;
}

/** Reads a model's graph structure (nodes are decoded; weights stay in the file). Close `outline.file` when done. */
export function readModelOutline(path: string): ModelOutline {
  const file = new ProtoFile(path);
  try {
    let graph: Field | undefined;
    let opset = 0;
    for (const f of file.fields()) {
      if (f.field === MODEL.graph && f.wire === BYTES) graph = f;
      else if (f.field === MODEL.opsetImport && f.wire === BYTES) {
        const set = onnx.OperatorSetIdProto.decode(file.value(f));
        if (!set.domain || set.domain === 'ai.onnx') opset = Number(set.version);
      }
    }
    if (!graph) throw new Error(`${path}: no graph`);
    const graphFields = [...file.fields(graph.valueStart, graph.end)];
    const nodes: NodeProto[] = [];
    const inputs: onnx.ValueInfoProto[] = [];
    const outputs: onnx.ValueInfoProto[] = [];
    const initializers = new Map<string, InitializerInfo>();
    for (const f of graphFields) {
      if (f.wire !== BYTES) continue;
      if (f.field === GRAPH.node) nodes.push(onnx.NodeProto.decode(file.value(f)));
      else if (f.field === GRAPH.input) inputs.push(onnx.ValueInfoProto.decode(file.value(f)));
      else if (f.field === GRAPH.output) outputs.push(onnx.ValueInfoProto.decode(file.value(f)));
      else if (f.field === GRAPH.initializer) {
        const info = readInitializerInfo(file, f);
        initializers.set(info.name, info);
      }
    }
    return { file, graph, graphFields, nodes, inputs, outputs, initializers, opset };
  } catch (error) {
    file.close();
    throw error;
  }
}

/** A protobuf varint. */
export function encodeVarint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** Tag and length prefix of a length-delimited field. */
export function lengthPrefix(field: number, length: number): Buffer {
  return Buffer.concat([encodeVarint(field * 8 + BYTES), encodeVarint(length)]);
}

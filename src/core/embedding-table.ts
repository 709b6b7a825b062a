/**
 * embed_tokens without onnxruntime: the official files are one Gather on the embedding table (fp32,
 * fp16), or a Gather on a uint8/int8 table followed by a per-tensor DequantizeLinear. The table is read
 * from the file once; a lookup copies (or dequantizes) rows, with the same float32 results as the
 * session: a copy, an exact float16 widening, or `(q - zero_point) * scale` rounded once to float32
 * (the product of two float32 values is exact in a double).
 */
import { closeSync, openSync, read } from 'node:fs';
import { promisify } from 'node:util';
import os from 'node:os';
import { SmolVLMError } from './errors.js';
import { float16ToFloat32 } from './float16.js';
import { readModelOutline, type InitializerInfo, type ModelOutline, type NodeProto } from './onnx-file.js';

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const FLOAT16 = 10;

type Table =
  | { kind: 'float32'; values: Float32Array }
  | { kind: 'float16'; values: Uint16Array }
  | { kind: 'quantized'; values: Uint8Array | Int8Array; scale: number; zeroPoint: number };

export class EmbeddingTable {
  /** Use EmbeddingTable.read. */
  constructor(
    readonly vocabSize: number,
    readonly hiddenSize: number,
    readonly table: Table,
  ) {}

  /** Reads the table of an embed_tokens file, or says why its graph is not a plain table lookup. */
  static read(file: string): EmbeddingTable | string {
    return withOutline(file, (outline) => {
      const plan = tablePlan(outline);
      if (typeof plan === 'string') return plan;
      const bytes = readRaw(plan.weights, outline.file);
      return typeof bytes === 'string' ? bytes : plan.make(bytes);
    });
  }

  /**
   * EmbeddingTable.read with the table's bytes (tens of MB) read on libuv's threads rather than the
   * main thread: SmolVLM.load reads them while onnxruntime creates the decoder session, which it does
   * synchronously on the main thread.
   */
  static async readAsync(file: string): Promise<EmbeddingTable | string> {
    const plan = withOutline(file, tablePlan);
    if (typeof plan === 'string') return plan;
    const problem = rawProblem(plan.weights);
    if (problem !== undefined) return problem;
    const bytes = new Uint8Array(plan.weights.dataLength!);
    // Opened synchronously, so that the first read is queued before this returns (before the
    // caller goes on to create a session, which blocks the main thread).
    const fd = openSync(file, 'r');
    try {
      for (let read = 0; read < bytes.length; ) {
        const { bytesRead } = await readAt(fd, bytes, read, bytes.length - read, plan.weights.dataOffset! + read);
        if (bytesRead === 0) return `unexpected end of file at ${plan.weights.dataOffset! + read}`;
        read += bytesRead;
      }
    } finally {
      closeSync(fd);
    }
    return plan.make(bytes);
  }

  /** Embeddings `[ids.length * hidden]` as float32. */
  embed(ids: readonly number[]): Float32Array {
    const hidden = this.hiddenSize;
    const out = new Float32Array(ids.length * hidden);
    const t = this.table;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new SmolVLMError('MODEL_INVALID', `token id ${id} is outside the embedding table (0..${this.vocabSize - 1}): tokenizer and model do not match`);
      }
      const from = id * hidden;
      const to = i * hidden;
      if (t.kind === 'float32') out.set(t.values.subarray(from, from + hidden), to);
      else if (t.kind === 'float16') for (let j = 0; j < hidden; j++) out[to + j] = float16ToFloat32(t.values[from + j]!);
      else {
        const { values, scale, zeroPoint } = t;
        for (let j = 0; j < hidden; j++) out[to + j] = (values[from + j]! - zeroPoint) * scale;
      }
    }
    return out;
  }
}

/** The table initializer and how to make the table from its bytes, or why the file is not a plain lookup. */
interface TablePlan {
  weights: InitializerInfo;
  make: (bytes: Uint8Array) => EmbeddingTable | string;
}

/** `use` on the outline of `file` (whose file is closed after), or why it cannot be read. */
function withOutline<T>(file: string, use: (outline: ModelOutline) => T | string): T | string {
  if (os.endianness() !== 'LE') return 'big-endian platform';
  let outline: ModelOutline;
  try {
    outline = readModelOutline(file);
  } catch (error) {
    return `cannot read the graph: ${(error as Error).message}`;
  }
  try {
    return use(outline);
  } finally {
    outline.file.close();
  }
}

/** Checks the graph is a table lookup and reads its scalars (scale, zero point); the table itself is read by the caller. */
function tablePlan(outline: ModelOutline): TablePlan | string {
  const { nodes, initializers, file } = outline;
  if (outline.inputs.length !== 1 || outline.inputs[0]!.name !== 'input_ids') return 'inputs other than input_ids';
  if (outline.outputs.length !== 1 || outline.outputs[0]!.name !== 'inputs_embeds') return 'outputs other than inputs_embeds';
  const outputType = outline.outputs[0]!.type?.tensorType?.elemType;
  const producer = new Map<string, NodeProto>();
  for (const node of nodes) for (const name of node.output) producer.set(name, node);

  // Walk back from the output: [Cast | Identity]* [DequantizeLinear] Gather.
  let tensor = 'inputs_embeds';
  const chain = new Set<NodeProto>();
  let casts = 0;
  let dequantize: NodeProto | undefined;
  let gather: NodeProto | undefined;
  for (let step = 0; step < 6 && !gather; step++) {
    const node = producer.get(tensor);
    if (!node || (node.domain && node.domain !== 'ai.onnx')) return `unexpected producer of ${tensor}`;
    chain.add(node);
    if (node.opType === 'Gather') gather = node;
    else if (node.opType === 'Identity') {
      // a rename
    } else if (node.opType === 'Cast') casts++;
    else if (node.opType === 'DequantizeLinear' && !dequantize) dequantize = node;
    else return `unexpected ${node.opType}`;
    tensor = node.input[0]!;
  }
  if (!gather) return 'no Gather';
  if (nodes.some((n) => !chain.has(n) && n.opType !== 'Constant')) return 'other nodes besides the lookup';
  const axis = gather.attribute.find((a) => a.name === 'axis');
  if (axis && Number(axis.i) !== 0) return 'Gather on another axis';
  if (gather.input[1] !== 'input_ids') return 'Gather indices are not input_ids';
  const weights = initializers.get(gather.input[0]!);
  if (!weights || weights.dims.length !== 2) return 'the table is not a 2-D initializer';
  const [vocab, hidden] = weights.dims as [number, number];

  if (!dequantize) {
    if (weights.dataType === FLOAT && (outputType === FLOAT || outputType === undefined)) {
      return { weights, make: (bytes) => new EmbeddingTable(vocab, hidden, { kind: 'float32', values: new Float32Array(bytes.buffer, bytes.byteOffset, vocab * hidden) }) };
    }
    if (weights.dataType === FLOAT16 && (outputType === FLOAT || outputType === FLOAT16)) {
      return { weights, make: (bytes) => new EmbeddingTable(vocab, hidden, { kind: 'float16', values: new Uint16Array(bytes.buffer, bytes.byteOffset, vocab * hidden) }) };
    }
    return `table type ${weights.dataType} with output type ${outputType}`;
  }
  if (casts > 0 || outputType !== FLOAT) return 'a cast after DequantizeLinear';
  if (dequantize.input[0] !== gather.output[0]) return 'DequantizeLinear is not applied to the looked-up rows';
  const scale = scalar(initializers.get(dequantize.input[1]!), file, FLOAT);
  const zero = dequantize.input[2] ? scalar(initializers.get(dequantize.input[2]), file, weights.dataType) : 0;
  if (scale === undefined || zero === undefined) return 'DequantizeLinear scale or zero point is not a constant scalar';
  if (weights.dataType === UINT8) return { weights, make: (bytes) => new EmbeddingTable(vocab, hidden, { kind: 'quantized', values: bytes, scale, zeroPoint: zero }) };
  if (weights.dataType === INT8) {
    return { weights, make: (bytes) => new EmbeddingTable(vocab, hidden, { kind: 'quantized', values: new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length), scale, zeroPoint: zero }) };
  }
  return `quantized table type ${weights.dataType}`;
}

const readAt = promisify(read);

const ELEMENT_BYTES: Record<number, number> = { [FLOAT]: 4, [UINT8]: 1, [INT8]: 1, [FLOAT16]: 2 };

/** Why an initializer's bytes cannot be read as raw data of its dims, or undefined when they can. */
function rawProblem(info: InitializerInfo): string | undefined {
  if (info.external || info.dataOffset === undefined) return 'the table is not stored as raw data in the file';
  const size = ELEMENT_BYTES[info.dataType];
  if (!size) return `table element type ${info.dataType}`;
  const count = info.dims.reduce((a, b) => a * b, 1);
  if (info.dataLength !== count * size) return 'the table size does not match its dims';
  return undefined;
}

/** The initializer's raw bytes, copied into fresh (aligned) memory. */
function readRaw(info: InitializerInfo, file: ModelOutline['file']): Uint8Array | string {
  const problem = rawProblem(info);
  if (problem !== undefined) return problem;
  const bytes = new Uint8Array(info.dataLength!);
  file.readInto(info.dataOffset!, bytes);
  return bytes;
}

function scalar(info: InitializerInfo | undefined, file: ModelOutline['file'], dataType: number): number | undefined {
  if (!info || info.dataType !== dataType || info.dims.reduce((a, b) => a * b, 1) !== 1) return undefined;
  const bytes = readRaw(info, file);
  if (typeof bytes === 'string') return undefined;
  const view = new DataView(bytes.buffer);
  if (dataType === FLOAT) return view.getFloat32(0, true);
  if (dataType === UINT8) return view.getUint8(0);
  if (dataType === INT8) return view.getInt8(0);
  return undefined;
}

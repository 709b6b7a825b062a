/**
 * Writing an edited copy of a model whose weights stay in the source file: the graph's nodes (and a
 * few inputs, outputs, value_info entries and opset imports) are replaced, every other field is copied
 * byte for byte from the source, streamed in 16 MB pieces (graph-patch.ts, vision-graph-rewrite.ts).
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { GRAPH, lengthPrefix, MODEL, onnx, readInitializerInfo, readModelOutline, type Field, type ModelOutline, type NodeProto } from './onnx-file.js';

/** What changes in the graph; everything not named here is copied. */
export interface GraphEdit {
  /** Nodes of the new graph, in order (replacing all the source's nodes). */
  nodes: NodeProto[];
  /** value_info entries (shape annotations) to leave out, by tensor name: those that no longer hold. */
  dropValueInfo?: ReadonlySet<string>;
  /** Initializers to leave out, by name: those only the replaced nodes read. */
  dropInitializers?: ReadonlySet<string>;
  /** Inputs added after the last input. */
  addInputs?: onnx.ValueInfoProto[];
  /** Replaces a graph output (return it changed), or keeps it as it is (return undefined). */
  editOutput?: (output: onnx.ValueInfoProto) => onnx.ValueInfoProto | undefined;
  /** Outputs added after the last output. */
  addOutputs?: onnx.ValueInfoProto[];
  /** Operator sets the new nodes need; those the model does not import yet are added. */
  opsets?: { domain: string; version: number }[];
}

type Chunk = Buffer | { offset: number; length: number };

function encoded(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([lengthPrefix(field, bytes.length), bytes]);
}

function graphChunks(outline: ModelOutline, edit: GraphEdit): Chunk[] {
  const { file, graphFields } = outline;
  const raw = (f: Field): Chunk => ({ offset: f.start, length: f.end - f.start });
  const chunks: Chunk[] = [];
  const lastInput = graphFields.findLastIndex((f) => f.field === GRAPH.input);
  const lastOutput = graphFields.findLastIndex((f) => f.field === GRAPH.output);
  let nodesWritten = false;
  const writeNodes = (): void => {
    if (!nodesWritten) for (const node of edit.nodes) chunks.push(encoded(GRAPH.node, onnx.NodeProto.encode(node).finish()));
    nodesWritten = true;
  };
  graphFields.forEach((f, index) => {
    if (f.field === GRAPH.node) writeNodes();
    else if (f.field === GRAPH.output && edit.editOutput) {
      const changed = edit.editOutput(onnx.ValueInfoProto.decode(file.value(f)));
      chunks.push(changed ? encoded(GRAPH.output, onnx.ValueInfoProto.encode(changed).finish()) : raw(f));
    } else if (f.field === GRAPH.valueInfo && edit.dropValueInfo) {
      if (!edit.dropValueInfo.has(onnx.ValueInfoProto.decode(file.value(f)).name)) chunks.push(raw(f));
    } else if (f.field === GRAPH.initializer && edit.dropInitializers?.size) {
      if (!edit.dropInitializers.has(readInitializerInfo(file, f).name)) chunks.push(raw(f));
    } else chunks.push(raw(f));
    if (index === lastInput) for (const input of edit.addInputs ?? []) chunks.push(encoded(GRAPH.input, onnx.ValueInfoProto.encode(input).finish()));
    if (index === lastOutput) for (const output of edit.addOutputs ?? []) chunks.push(encoded(GRAPH.output, onnx.ValueInfoProto.encode(output).finish()));
  });
  // A graph without nodes in the source (not a real model) still gets the new ones.
  if (!nodesWritten) chunks.unshift(...edit.nodes.map((node) => encoded(GRAPH.node, onnx.NodeProto.encode(node).finish())));
  return chunks;
}

function modelChunks(outline: ModelOutline, edit: GraphEdit): Chunk[] {
  const { file } = outline;
  const graph = graphChunks(outline, edit);
  const graphLength = graph.reduce((n, c) => n + c.length, 0);
  const imported = new Set<string>();
  const chunks: Chunk[] = [];
  let lastOpset = -1;
  for (const f of file.fields()) {
    if (f.start === outline.graph.start) chunks.push(lengthPrefix(MODEL.graph, graphLength), ...graph);
    else {
      if (f.field === MODEL.opsetImport) {
        imported.add(onnx.OperatorSetIdProto.decode(file.value(f)).domain || '');
        lastOpset = chunks.length;
      }
      chunks.push({ offset: f.start, length: f.end - f.start });
    }
  }
  const missing = (edit.opsets ?? []).filter((o) => !imported.has(o.domain));
  const added = missing.map((o) => encoded(MODEL.opsetImport, onnx.OperatorSetIdProto.encode(o).finish()));
  chunks.splice(lastOpset + 1, 0, ...added);
  return chunks;
}

/** Writes the source model with `edit` applied to `target`, atomically (a temporary file is renamed). */
export function writeEditedModel(outline: ModelOutline, edit: GraphEdit, target: string): void {
  const { file } = outline;
  const chunks = modelChunks(outline, edit);
  const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    const buffer = Buffer.allocUnsafe(16 << 20);
    for (const c of chunks) {
      if (Buffer.isBuffer(c)) {
        writeAll(fd, c);
        continue;
      }
      for (let at = 0; at < c.length; at += buffer.length) {
        const part = buffer.subarray(0, Math.min(buffer.length, c.length - at));
        file.readInto(c.offset + at, part);
        writeAll(fd, part);
      }
    }
    closeSync(fd);
    renameSync(tmp, target);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw error;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
}

/**
 * The frame of every one-time rewrite: reads the outline of `source`, asks `plan` for the edit (or why
 * it does not apply: then nothing is written), lets `write` write it to `target`, and closes the file.
 * Returns undefined when written, else the reason.
 */
export function rewriteModelFile<Plan>(source: string, target: string, plan: (outline: ModelOutline) => Plan | string, write: (outline: ModelOutline, plan: Plan, target: string) => void): string | undefined {
  let outline: ModelOutline;
  try {
    outline = readModelOutline(source);
  } catch (error) {
    return `cannot read the graph: ${(error as Error).message}`;
  }
  try {
    const planned = plan(outline);
    if (typeof planned === 'string') return planned;
    write(outline, planned, target);
    return undefined;
  } finally {
    outline.file.close();
  }
}

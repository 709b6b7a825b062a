import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import type { BatchKvCache, BatchLayout } from './batch-kv-cache.js';
import { onnxRuntime } from './lazy-modules.js';
import { SmolVLMError } from './errors.js';
import { LOGITS_REWRITE, NEW_KV_PREFIX } from './graph-patch.js';
import {
  createSession,
  floatTensor,
  floatTypeOf,
  inputMetadata,
  int64Tensor,
  outputMetadata,
  requireIO,
  tensorToFloat32,
  type FloatType,
  type RuntimeOptions,
} from './runtime.js';

export type KvArray = Float32Array | Uint16Array;

/** Positions a cache of `length` allocates room for when it grows: a quarter more, at least 128. */
export function growCapacity(length: number): number {
  return length + Math.max(128, length >> 2);
}

/**
 * The decoder's key/value cache: one tensor per `past_key_values.{i}.{key|value}` input, all with the
 * sequence length `length`. With a decoder that returns only each step's new rows, the tensors are views
 * of `buffers` (room for `capacity` positions per head) that the decoder appends to; otherwise the
 * presents go from one step's outputs to the next step's inputs as they are.
 */
export class KvCache {
  buffers: Map<string, KvArray> | undefined;
  capacity = 0;

  constructor(
    readonly tensors: Map<string, ort.Tensor>,
    public length: number,
  ) {}

  /** Makes `buffers` the storage: each holds `[1, heads, length, headDim]` at its start, room for `capacity` positions. */
  useBuffers(buffers: Map<string, KvArray>, capacity: number, type: FloatType, heads: number, headDim: number): void {
    this.buffers = buffers;
    this.capacity = capacity;
    for (const [name, buffer] of buffers) {
      this.tensors.set(name, new (onnxRuntime().Tensor)(type, buffer.subarray(0, heads * this.length * headDim) as Float32Array, [1, heads, this.length, headDim]));
    }
  }
}

/** decoder_model_merged: the language model with KV cache; shapes and types come from its metadata. */
export class Decoder {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly kvType: FloatType;
  readonly embedsType: FloatType;
  readonly hiddenSize: number;
  readonly #pastNames: string[];
  readonly #presentNames: string[];
  /** `new_key_values.*` outputs (graph-patch.ts), when every layer has them. */
  readonly #newNames: string[] | undefined;
  readonly #fetches: string[] | undefined;
  readonly #hasUseCacheBranch: boolean;
  readonly #hasLogitsToKeep: boolean;
  #ones = new BigInt64Array(0);

  private constructor(
    readonly session: ort.InferenceSession,
    readonly file: string,
  ) {
    requireIO(session, file, ['inputs_embeds', 'attention_mask', 'position_ids'], ['logits']);
    this.#pastNames = session.inputNames.filter((n) => n.startsWith('past_key_values.'));
    this.layers = this.#pastNames.filter((n) => n.endsWith('.key')).length;
    if (this.layers === 0) {
      throw new SmolVLMError('MODEL_INVALID', `${path.basename(file)} has no past_key_values inputs (not a merged decoder with KV cache)`);
    }
    this.#presentNames = this.#pastNames.map((n) => n.replace('past_key_values.', 'present.'));
    requireIO(session, file, [], this.#presentNames);
    const newNames = this.#pastNames.map((n) => n.replace('past_key_values.', NEW_KV_PREFIX));
    this.#newNames = newNames.every((n) => session.outputNames.includes(n)) ? newNames : undefined;
    this.#fetches = this.#newNames ? ['logits', ...this.#newNames] : undefined;
    const kvMeta = inputMetadata(session, this.#pastNames[0]!);
    const shape = kvMeta?.shape ?? [];
    const kvHeads = shape[1];
    const headDim = shape[3];
    if (typeof kvHeads !== 'number' || typeof headDim !== 'number') {
      throw new SmolVLMError('MODEL_INVALID', `${path.basename(file)}: cannot read KV heads and head size from ${kvMeta?.name}`);
    }
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.kvType = floatTypeOf(kvMeta, file);
    const embedsMeta = inputMetadata(session, 'inputs_embeds');
    this.embedsType = floatTypeOf(embedsMeta, file);
    const hidden = embedsMeta?.shape?.at(-1);
    if (typeof hidden !== 'number') throw new SmolVLMError('MODEL_INVALID', `${path.basename(file)}: inputs_embeds has no fixed hidden size`);
    this.hiddenSize = hidden;
    floatTypeOf(outputMetadata(session, 'logits'), file);
    this.#hasUseCacheBranch = session.inputNames.includes('use_cache_branch');
    this.#hasLogitsToKeep = session.inputNames.includes('num_logits_to_keep');
  }

  /**
   * Loads a decoder. Unless `options.cacheDir` is false, it is rewritten to compute logits only for the
   * rows asked for (graph-patch.ts), once, through the optimized-graph cache.
   */
  static async load(file: string, options?: RuntimeOptions): Promise<Decoder> {
    return new Decoder((await createSession(file, options, LOGITS_REWRITE)).session, file);
  }

  /**
   * One throwaway decoder call over two positions. The saved optimized graph's weights are memory-mapped,
   * so the first call pays for mapping them in (page faults), and onnxruntime sets up its first run; a
   * load that warms up moves that cost out of the first answer's time to first token.
   */
  async warmUp(): Promise<void> {
    await this.forward(new Float32Array(2 * this.hiddenSize), 2, this.emptyCache());
  }

  emptyCache(): KvCache {
    const dims = [1, this.kvHeads, 0, this.headDim];
    const empty = () => (this.kvType === 'float32' ? new (onnxRuntime().Tensor)('float32', new Float32Array(0), dims) : new (onnxRuntime().Tensor)('float16', new Uint16Array(0), dims));
    return new KvCache(new Map(this.#pastNames.map((n) => [n, empty()])), 0);
  }

  /**
   * Runs `seqLen` new positions (embeddings `[seqLen * hidden]`) after the cache, which is advanced in
   * place. Returns the logits of the last position, or of every new position with `allLogits`.
   */
  async forward(embeds: Float32Array, seqLen: number, cache: KvCache, allLogits = false): Promise<Float32Array> {
    const past = cache.length;
    const total = past + seqLen;
    const positions = new BigInt64Array(seqLen);
    for (let i = 0; i < seqLen; i++) positions[i] = BigInt(past + i);
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: floatTensor(this.embedsType, embeds, [1, seqLen, this.hiddenSize]),
      attention_mask: int64Tensor(this.#attentionMask(total), [1, total]),
      position_ids: int64Tensor(positions, [1, seqLen]),
    };
    for (const [name, tensor] of cache.tensors) feeds[name] = tensor;
    // Two rows, not one: MatMulNBits (q4) takes another kernel for a single row, whose sums differ in the
    // last bits from the full prompt's; with two rows the last row is bit-identical to the original graph's.
    this.#addSwitches(feeds, past > 0, allLogits ? 0 : Math.min(2, seqLen));
    if (this.#fetches) {
      // Only the new rows come back (not a copy of the whole cache per step); append them here.
      const outputs = await this.session.run(feeds, this.#fetches);
      this.#append(cache, outputs, seqLen);
      return this.#lastLogits(outputs.logits!, allLogits);
    }
    const outputs = await this.session.run(feeds);
    for (let i = 0; i < this.#pastNames.length; i++) cache.tensors.set(this.#pastNames[i]!, outputs[this.#presentNames[i]!]!);
    cache.length = total;
    return this.#lastLogits(outputs.logits!, allLogits);
  }

  /** The layout of the past_key_values inputs, for a batch cache (batch-kv-cache.ts). */
  get kvLayout(): BatchLayout {
    return { names: this.#pastNames, heads: this.kvHeads, headDim: this.headDim, type: this.kvType };
  }

  /**
   * One decode step for every sequence of `batch` in one run: `embeds` holds each row's new token
   * (`[rows * hidden]`, in row order); each row's cache grows by one position. Returns each row's logits.
   */
  async forwardBatch(embeds: Float32Array, batch: BatchKvCache): Promise<Float32Array[]> {
    const rows = batch.size;
    const { past, attentionMask, positionIds, columns } = batch.stepInputs();
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: floatTensor(this.embedsType, embeds, [rows, 1, this.hiddenSize]),
      attention_mask: int64Tensor(attentionMask, [rows, columns + 1]),
      position_ids: int64Tensor(positionIds, [rows, 1]),
    };
    for (const [name, tensor] of past) feeds[name] = tensor;
    this.#addSwitches(feeds, true, 1);
    const heads = this.kvHeads;
    const d = this.headDim;
    if (this.#fetches) {
      const outputs = await this.session.run(feeds, this.#fetches);
      batch.append((name) => this.#outputValues(outputs, name.replace('past_key_values.', NEW_KV_PREFIX), rows * heads * d));
      return this.#rowLogits(outputs.logits!, rows);
    }
    // Without new_key_values outputs: take the new column (the last) out of each present.
    const outputs = await this.session.run(feeds);
    batch.append((name) => this.#outputValues(outputs, name.replace('past_key_values.', 'present.'), rows * heads * (columns + 1) * d), columns + 1, columns);
    return this.#rowLogits(outputs.logits!, rows);
  }

  /** use_cache_branch and num_logits_to_keep, when the graph has them (0 keeps every row's logits). */
  #addSwitches(feeds: Record<string, ort.Tensor>, hasPast: boolean, logitsToKeep: number): void {
    if (this.#hasUseCacheBranch) feeds.use_cache_branch = new (onnxRuntime().Tensor)('bool', new Uint8Array([hasPast ? 1 : 0]), [1]);
    if (this.#hasLogitsToKeep) feeds.num_logits_to_keep = new (onnxRuntime().Tensor)('int64', new BigInt64Array([BigInt(logitsToKeep)]), []);
  }

  /** An output's values, checked to have `expected` of them. */
  #outputValues(outputs: ort.InferenceSession.ReturnType, name: string, expected: number): KvArray {
    const values = outputs[name]!.data as KvArray;
    if (values.length !== expected) throw new SmolVLMError('MODEL_INVALID', `${path.basename(this.file)}: ${name} has ${values.length} values, expected ${expected}`);
    return values;
  }

  /** Logits `[rows, 1, vocab]` as one array per row. */
  #rowLogits(logits: ort.Tensor, rows: number): Float32Array[] {
    const values = tensorToFloat32(logits);
    const vocab = logits.dims.at(-1)!;
    if (values.length !== rows * vocab) throw new SmolVLMError('MODEL_INVALID', `${path.basename(this.file)}: logits has ${values.length} values, expected ${rows} x ${vocab}`);
    return Array.from({ length: rows }, (_, r) => values.subarray(r * vocab, (r + 1) * vocab));
  }

  #lastLogits(logits: ort.Tensor, allLogits: boolean): Float32Array {
    const vocab = logits.dims.at(-1)!;
    const rows = logits.dims.at(-2)!;
    const values = tensorToFloat32(logits);
    if (allLogits || rows === 1) return values;
    // A view, not a copy: the output is this call's own array, and a fresh 200 KB copy per token costs
    // page faults (about 1 ms per token on a VM with slow faults).
    return values.subarray((rows - 1) * vocab, rows * vocab);
  }

  /**
   * Appends `seqLen` new rows per layer (`new_key_values.*`, `[1, heads, seqLen, headDim]`) to the cache's
   * buffers, growing them (by a quarter, at least 128 positions) when full. The layout is the decoder's
   * `[1, heads, length, headDim]`, so the later heads move up by `seqLen` rows: a memmove of the cache
   * in place, cheaper than the fresh copy of every present that onnxruntime-node would return.
   */
  #append(cache: KvCache, outputs: ort.InferenceSession.ReturnType, seqLen: number): void {
    const heads = this.kvHeads;
    const d = this.headDim;
    const past = cache.length;
    const total = past + seqLen;
    if (!cache.buffers || cache.capacity < total) {
      const capacity = growCapacity(total);
      const buffers = new Map<string, KvArray>();
      for (const name of this.#pastNames) {
        const buffer = this.kvType === 'float32' ? new Float32Array(heads * capacity * d) : new Uint16Array(heads * capacity * d);
        // Old rows at the new stride (room for the new rows after each head's block).
        const old = cache.tensors.get(name)!.data as KvArray;
        for (let h = 0; h < heads; h++) buffer.set(old.subarray(h * past * d, (h + 1) * past * d), h * total * d);
        buffers.set(name, buffer);
      }
      cache.buffers = buffers;
      cache.capacity = capacity;
    } else {
      for (const buffer of cache.buffers.values()) {
        for (let h = heads - 1; h >= 1; h--) buffer.copyWithin(h * total * d, h * past * d, (h + 1) * past * d);
      }
    }
    for (let i = 0; i < this.#pastNames.length; i++) {
      const name = this.#pastNames[i]!;
      const buffer = cache.buffers.get(name)!;
      const rows = this.#outputValues(outputs, this.#newNames![i]!, heads * seqLen * d);
      for (let h = 0; h < heads; h++) buffer.set(rows.subarray(h * seqLen * d, (h + 1) * seqLen * d), h * total * d + past * d);
      cache.tensors.set(name, new (onnxRuntime().Tensor)(this.kvType, buffer.subarray(0, heads * total * d) as Float32Array, [1, heads, total, d]));
    }
    cache.length = total;
  }

  /** A cache cut back to its first `length` positions (copies; used to rewind a conversation). */
  truncate(cache: KvCache, length: number): KvCache {
    if (length >= cache.length) return cache;
    const tensors = new Map<string, ort.Tensor>();
    for (const [name, tensor] of cache.tensors) {
      const src = tensor.data as Float32Array | Uint16Array;
      const dst = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(this.kvHeads * length * this.headDim);
      const rowFrom = cache.length * this.headDim;
      const rowTo = length * this.headDim;
      for (let h = 0; h < this.kvHeads; h++) dst.set(src.subarray(h * rowFrom, h * rowFrom + rowTo), h * rowTo);
      tensors.set(name, new (onnxRuntime().Tensor)(tensor.type as 'float32', dst as Float32Array, [1, this.kvHeads, length, this.headDim]));
    }
    return new KvCache(tensors, length);
  }

  #attentionMask(length: number): BigInt64Array {
    if (this.#ones.length < length) this.#ones = new BigInt64Array(Math.max(length, this.#ones.length * 2, 256)).fill(1n);
    return this.#ones.subarray(0, length);
  }
}

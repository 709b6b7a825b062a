import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { onnxRuntime } from './lazy-modules.js';
import { EmbeddingTable } from './embedding-table.js';
import { SmolVLMError } from './errors.js';
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
import { VISION_REWRITE } from './vision-graph-rewrite.js';

/**
 * embed_tokens: token ids to input embeddings. When the file is a plain table lookup (all official
 * variants), the table is read once and looked up in JS, which gives the same values without a
 * session (and without a session call per generated token); otherwise the file runs in onnxruntime.
 */
export class TokenEmbedder {
  readonly hiddenSize: number;

  private constructor(
    readonly session: ort.InferenceSession | undefined,
    readonly table: EmbeddingTable | undefined,
    readonly file: string,
  ) {
    if (table) {
      this.hiddenSize = table.hiddenSize;
      return;
    }
    requireIO(session!, file, ['input_ids'], ['inputs_embeds']);
    floatTypeOf(outputMetadata(session!, 'inputs_embeds'), file);
    const hidden = outputMetadata(session!, 'inputs_embeds')?.shape?.at(-1);
    if (typeof hidden !== 'number') throw new SmolVLMError('MODEL_INVALID', `${path.basename(file)}: inputs_embeds has no fixed hidden size`);
    this.hiddenSize = hidden;
  }

  static async load(file: string, options?: RuntimeOptions): Promise<TokenEmbedder> {
    const table = await EmbeddingTable.readAsync(file);
    if (typeof table !== 'string') return new TokenEmbedder(undefined, table, file);
    return new TokenEmbedder((await createSession(file, options)).session, undefined, file);
  }

  /** Embeddings `[ids.length * hidden]` as float32. */
  async embed(ids: readonly number[]): Promise<Float32Array> {
    if (this.table) return this.table.embed(ids);
    const values = BigInt64Array.from(ids, (id) => BigInt(id));
    const outputs = await this.session!.run({ input_ids: int64Tensor(values, [1, ids.length]) });
    return tensorToFloat32(outputs.inputs_embeds!);
  }
}

/** vision_encoder: image tiles to image features (SigLIP + pixel shuffle + projection, inside the graph). */
export class VisionEncoder {
  readonly tileSize: number;
  readonly pixelType: FloatType;

  private constructor(
    readonly session: ort.InferenceSession,
    readonly file: string,
  ) {
    requireIO(session, file, ['pixel_values', 'pixel_attention_mask'], ['image_features']);
    const meta = inputMetadata(session, 'pixel_values');
    this.pixelType = floatTypeOf(meta, file);
    const size = meta?.shape?.at(-1);
    this.tileSize = typeof size === 'number' ? size : 0;
  }

  /** Loads through the optimized-graph cache with the fused attention / GELU rewrite (vision-graph-rewrite.ts). */
  static async load(file: string, options?: RuntimeOptions): Promise<VisionEncoder> {
    return new VisionEncoder((await createSession(file, options, VISION_REWRITE)).session, file);
  }

  /**
   * Features `[tiles * imageSeqLen * hidden]` for `tiles` tiles of `tileSize`² pixels, `tilesPerCall` tiles
   * per session call (0: all in one call). Fewer tiles per call bound the memory of the encoder's
   * activations (its attention alone is ~50 MB per tile). Results do not depend on the split, except for
   * dynamically quantized (int8/uint8) encoders, which pick their activation scales per call.
   */
  async encode(pixelValues: Float32Array, tiles: number, tileSize: number, tilesPerCall = 0): Promise<Float32Array> {
    if (this.tileSize !== 0 && this.tileSize !== tileSize) {
      throw new SmolVLMError('MODEL_INVALID', `${path.basename(this.file)} expects ${this.tileSize} px tiles, the preprocessor made ${tileSize} px`);
    }
    const perCall = tilesPerCall > 0 ? Math.min(tilesPerCall, tiles) : tiles;
    const tileFloats = 3 * tileSize * tileSize;
    const mask = new Uint8Array(perCall * tileSize * tileSize).fill(1);
    let out: Float32Array | undefined;
    let at = 0;
    for (let first = 0; first < tiles; first += perCall) {
      const n = Math.min(perCall, tiles - first);
      const outputs = await this.session.run({
        pixel_values: floatTensor(this.pixelType, pixelValues.subarray(first * tileFloats, (first + n) * tileFloats), [1, n, 3, tileSize, tileSize]),
        pixel_attention_mask: new (onnxRuntime().Tensor)('bool', mask.subarray(0, n * tileSize * tileSize), [1, n, tileSize, tileSize]),
      });
      const features = tensorToFloat32(outputs.image_features!);
      if (n === tiles) return features;
      out ??= new Float32Array((features.length / n) * tiles);
      if (at + features.length > out.length) {
        throw new SmolVLMError('MODEL_INVALID', `${path.basename(this.file)} returned ${features.length} values for ${n} tiles, not a whole number per tile`);
      }
      out.set(features, at);
      at += features.length;
    }
    return out!;
  }
}

/**
 * The floor's onnxruntime loop: the three files with default session options, the vision encoder on
 * all tiles in one call, embed_tokens, one decoder call over the prompt, then one embed and one
 * decoder call per token with greedy argmax. Imports onnxruntime-node and nothing of the engine's, so that the
 * one-shot benchmark can run it as plain JavaScript in a bare process (oneshot-child.ts).
 */
import * as ort from 'onnxruntime-node';
import { argmax } from './common.js';

export interface FloorPaths {
  vision_encoder: string;
  embed_tokens: string;
  decoder_model_merged: string;
}

type Meta = { name: string; type?: string; shape?: readonly (number | string)[] };

export class FloorModel {
  readonly #pastNames: string[];
  readonly #kvHeads: number;
  readonly #headDim: number;
  readonly #kvType: 'float32' | 'float16';
  readonly #hidden: number;
  #past: Record<string, ort.Tensor>;
  pastLength = 0;

  private constructor(
    readonly vision: ort.InferenceSession | undefined,
    readonly embed: ort.InferenceSession,
    readonly decoder: ort.InferenceSession,
  ) {
    this.#pastNames = decoder.inputNames.filter((n) => n.startsWith('past_key_values.'));
    const meta = (decoder.inputMetadata as readonly Meta[]).find((m) => m.name === this.#pastNames[0])!;
    const [, kvHeads, , headDim] = meta.shape as number[];
    this.#kvHeads = kvHeads!;
    this.#headDim = headDim!;
    this.#kvType = meta.type === 'float16' ? 'float16' : 'float32';
    this.#hidden = (decoder.inputMetadata as readonly Meta[]).find((m) => m.name === 'inputs_embeds')!.shape!.at(-1) as number;
    this.#past = Object.fromEntries(this.#pastNames.map((n) => [n, this.#emptyKv()]));
  }

  /** Creates the sessions one after the other (the vision encoder only when `withVision`). */
  static async create(paths: FloorPaths, withVision = true): Promise<FloorModel> {
    const vision = withVision ? await ort.InferenceSession.create(paths.vision_encoder) : undefined;
    const embed = await ort.InferenceSession.create(paths.embed_tokens);
    const decoder = await ort.InferenceSession.create(paths.decoder_model_merged);
    return new FloorModel(vision, embed, decoder);
  }

  #emptyKv(): ort.Tensor {
    const dims = [1, this.#kvHeads, 0, this.#headDim];
    return this.#kvType === 'float32' ? new ort.Tensor('float32', new Float32Array(0), dims) : new ort.Tensor('float16', new Uint16Array(0), dims);
  }

  /** Image features `[tiles * seq * hidden]` of `tiles` tiles in one call. */
  async encode(pixels: Float32Array, tiles: number, tileSize: number): Promise<Float32Array> {
    const out = await this.vision!.run({
      pixel_values: new ort.Tensor('float32', pixels, [1, tiles, 3, tileSize, tileSize]),
      pixel_attention_mask: new ort.Tensor('bool', new Uint8Array(tiles * tileSize * tileSize).fill(1), [1, tiles, tileSize, tileSize]),
    });
    return toFloat32(out.image_features!);
  }

  async embedIds(ids: readonly number[]): Promise<Float32Array> {
    const out = await this.embed.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
    return toFloat32(out.inputs_embeds!);
  }

  /** Writes image features over the embeddings of the image tokens among `ids`, in order. */
  merge(embeds: Float32Array, ids: readonly number[], features: Float32Array, imageTokenId: number): void {
    const hidden = this.#hidden;
    let row = 0;
    for (let p = 0; p < ids.length; p++) {
      if (ids[p] === imageTokenId) embeds.set(features.subarray(row * hidden, ++row * hidden), p * hidden);
    }
  }

  /** One decoder call over `count` new positions; returns the argmax of the last position's logits. */
  async step(embeds: Float32Array, count: number): Promise<number> {
    const total = this.pastLength + count;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor('float32', embeds, [1, count, this.#hidden]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: count }, (_, i) => BigInt(this.pastLength + i)), [1, count]),
      ...this.#past,
    };
    const out = await this.decoder.run(feeds);
    this.#past = Object.fromEntries(this.#pastNames.map((n) => [n, out[n.replace('past_key_values.', 'present.')]!]));
    this.pastLength = total;
    const logits = toFloat32(out.logits!);
    const vocab = out.logits!.dims.at(-1)!;
    return argmax(logits, logits.length - vocab, vocab);
  }
}

function toFloat32(t: ort.Tensor): Float32Array {
  return t.type === 'float32' ? (t.data as Float32Array) : Float32Array.from(t.data as Uint16Array, halfToFloat);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

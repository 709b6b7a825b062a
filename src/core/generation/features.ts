import type { VisionEncoder } from '../encoders.js';
import { SmolVLMError } from '../errors.js';
import type { PreparedImage } from './images.js';
import { LruMap } from './lru.js';
import type { ImageSpan } from './prompt-cache.js';

/** Vision features kept for images asked about again (a follow-up turn, the same photo in a batch). */
const FEATURE_CACHE_ENTRIES = 16;

/** Tiles per vision encoder call unless LoadOptions.visionTilesPerCall says otherwise (README: Performance). */
export const DEFAULT_VISION_TILES_PER_CALL = 1;

/**
 * Image features: the vision encoder's output per image, cached by the image's key, and written into
 * a sequence's input embeddings at its image-token positions. Shared by all requests of one model.
 */
export class ImageFeatures {
  readonly #cache = new LruMap<string, Float32Array>(FEATURE_CACHE_ENTRIES);

  constructor(
    /** The encoder, or anything that encodes as it does (the model's LazyVisionEncoder). */
    readonly vision: Pick<VisionEncoder, 'encode'>,
    /** Values per image token (the decoder's hidden size). */
    readonly hiddenSize: number,
    /** Image tokens per tile. */
    readonly imageSeqLen: number,
    /** Tiles per vision encoder call; 0 encodes all new images of a request in one call. */
    readonly tilesPerCall: number = DEFAULT_VISION_TILES_PER_CALL,
  ) {}

  /**
   * The features of each image, by key: from the cache, the others encoded image by image in calls
   * of `tilesPerCall` tiles, or with 0 all together in one call. The map holds every image asked for,
   * even when the cache is smaller than the request.
   */
  async encode(images: readonly PreparedImage[]): Promise<Map<string, Float32Array>> {
    const features = new Map<string, Float32Array>();
    const missing: PreparedImage[] = [];
    for (const image of new Set(images)) {
      const cached = this.#cache.get(image.key);
      if (cached) features.set(image.key, cached);
      else missing.push(image);
    }
    if (missing.length === 0) return features;
    if (this.tilesPerCall > 0) {
      // Image by image, so that an image's features never depend on which other images came along.
      for (const image of missing) {
        if (features.has(image.key)) continue;
        this.#remember(features, image, await this.vision.encode(image.pixelValues, image.tileCount, image.tileSize, this.tilesPerCall));
      }
      return features;
    }
    // All in one call, as the reference implementations do (int8/uint8 encoders then give their features bit for bit).
    const tiles = missing.reduce((n, i) => n + i.tileCount, 0);
    const pixels = missing.length === 1 ? missing[0]!.pixelValues : concatFloat32(missing.map((i) => i.pixelValues));
    const all = await this.vision.encode(pixels, tiles, missing[0]!.tileSize);
    this.#checkLength(all, tiles);
    let at = 0;
    for (const image of missing) {
      const length = this.#length(image.tileCount);
      this.#remember(features, image, all.subarray(at, at + length));
      at += length;
    }
    return features;
  }

  /** The cached features of an image or video frame, if any. */
  cached(key: string): Float32Array | undefined {
    return this.#cache.get(key);
  }

  /** Encodes one global image (a video frame, 3 x M x M floats) in one call, and caches its features. */
  async encodeFrame(key: string, pixels: Float32Array): Promise<Float32Array> {
    const tileSize = Math.round(Math.sqrt(pixels.length / 3));
    const values = await this.vision.encode(pixels, 1, tileSize, 1);
    this.#checkLength(values, 1);
    this.#cache.set(key, values);
    return values;
  }

  /**
   * Writes each span's image features into `embeds` at the span's image-token positions. Positions
   * are absolute; `embeds` starts at position `offset`.
   */
  merge(embeds: Float32Array, ids: readonly number[], imageTokenId: number, spans: readonly ImageSpan[], features: ReadonlyMap<string, Float32Array>, offset: number): void {
    const hidden = this.hiddenSize;
    for (const span of spans) {
      const values = features.get(span.key);
      if (!values) throw new Error(`no features for image ${span.key}`);
      let row = 0;
      for (let position = span.start; position < span.end; position++) {
        if (ids[position] !== imageTokenId) continue;
        embeds.set(values.subarray(row * hidden, (row + 1) * hidden), (position - offset) * hidden);
        row++;
      }
    }
  }

  #remember(features: Map<string, Float32Array>, image: PreparedImage, values: Float32Array): void {
    this.#checkLength(values, image.tileCount);
    features.set(image.key, values);
    this.#cache.set(image.key, values);
  }

  #length(tiles: number): number {
    return tiles * this.imageSeqLen * this.hiddenSize;
  }

  #checkLength(values: Float32Array, tiles: number): void {
    const expected = this.#length(tiles);
    if (values.length !== expected) {
      const hidden = this.hiddenSize;
      throw new SmolVLMError('MODEL_INVALID', `the vision encoder returned ${values.length / hidden} image tokens, expected ${expected / hidden}`);
    }
  }
}

function concatFloat32(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

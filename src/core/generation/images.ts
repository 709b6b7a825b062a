import { createHash } from 'node:crypto';
import { SmolVLMError } from '../errors.js';
import { decodeImage, preprocessImage, type ImageProcessorOptions, type ProcessedImage } from '../image/index.js';
import { readImageSource, type ImageSourceOptions } from '../image/source.js';
import { imagePromptString, type ImageInput } from '../prompt.js';
import type { TextTokenizer } from '../tokenizer.js';
import { describeValue, usageError } from '../untyped.js';
import { LruMap } from './lru.js';

export interface ImageOptions {
  /** Split images into tiles plus a global view (default: the model's preprocessor_config). */
  doImageSplitting?: boolean;
  /** Resize the longest edge to this before tiling: at most, and by default, the model's `size.longest_edge`. */
  longestEdge?: number;
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels?: number;
}

/** An image decoded, resized and tiled for this model; reusable across requests. */
export interface PreparedImage extends ProcessedImage {
  readonly prepared: true;
  label: string;
  /** Identifies the image bytes and the tiling options (the features cache key). */
  key: string;
  /** Prompt tokens this image adds. */
  tokens: number;
}

/** What an image in a message may be, completing "must be …". */
export const IMAGE_INPUT_RULE = 'a path, URL, data: URI or "-", image bytes (Uint8Array) or a prepared image';

export function isPreparedImage(input: unknown): input is PreparedImage {
  return typeof input === 'object' && input !== null && (input as PreparedImage).prepared === true;
}

/** Prepared images kept for a follow-up turn about the same image (up to ~54 MB each on 256M). */
const PREPARED_CACHE_ENTRIES = 2;

/** Reads, decodes and tiles images for one model, keeping the last few prepared images. */
export class ImagePreparer {
  /** The last prepared images (pixel values included), by bytes, tiling options and pixel limit. */
  readonly #prepared = new LruMap<string, PreparedImage>(PREPARED_CACHE_ENTRIES);

  constructor(
    /** The model's preprocessor_config. */
    readonly processorOptions: ImageProcessorOptions,
    readonly tokenizer: TextTokenizer,
    /** Image tokens per tile. */
    readonly imageSeqLen: number,
  ) {}

  async prepare(input: ImageInput, options: ImageOptions = {}, source: ImageSourceOptions = {}): Promise<PreparedImage> {
    if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
      if (isPreparedImage(input)) return input;
      usageError(`an image must be ${IMAGE_INPUT_RULE}, got ${describeValue(input)}`);
    }
    const { bytes, label } = await readImageSource(input, source);
    const processorOptions = this.processorOptionsFor(options);
    const hash = createHash('sha256').update(bytes).digest('hex');
    // The same image again (a follow-up turn names it again): skip decoding and resizing.
    const cacheKey = `${featuresKey(hash, processorOptions)}:${options.maxPixels ?? ''}`;
    const cached = this.#prepared.get(cacheKey);
    if (cached) return { ...cached, label };
    const raw = await decodeImage(bytes, { label, maxPixels: options.maxPixels });
    const prepared = this.fromProcessed(preprocessImage(raw, processorOptions), hash, label, options);
    this.#prepared.set(cacheKey, prepared);
    return prepared;
  }

  /**
   * An image decoded and tiled elsewhere (a worker thread) with `processorOptionsFor(options)`, as a
   * prepared image: the same key and token count as prepare() gives for the same bytes and options.
   */
  fromProcessed(processed: ProcessedImage, sha256: string, label: string, options: ImageOptions = {}): PreparedImage {
    const processorOptions = this.processorOptionsFor(options);
    if (processed.tileSize !== processorOptions.tileSize || (!processorOptions.doImageSplitting && processed.tileCount !== 1)) {
      throw new SmolVLMError('USAGE', `${label} was tiled with other image options than this model's (${processed.tileCount} tiles of ${processed.tileSize} px)`);
    }
    const grid = { rows: processed.rows, cols: processed.cols };
    return {
      prepared: true,
      label,
      rows: processed.rows,
      cols: processed.cols,
      tileCount: processed.tileCount,
      tileSize: processed.tileSize,
      pixelValues: processed.pixelValues,
      sizes: processed.sizes,
      key: featuresKey(sha256, processorOptions),
      tokens: this.tokenizer.encode(imagePromptString(grid, this.imageSeqLen)).length,
    };
  }

  /** The model's processor options with a request's overrides applied (USAGE error for a size beyond the model's). */
  processorOptionsFor(options: ImageOptions = {}): ImageProcessorOptions {
    const modelEdge = this.processorOptions.longestEdge;
    const longestEdge = options.longestEdge ?? modelEdge;
    // Larger sizes would need row/column markers the model never saw (its grid tops out at longest_edge / tile).
    if (!Number.isInteger(longestEdge) || longestEdge < 1 || longestEdge > modelEdge) {
      throw new SmolVLMError('USAGE', `image size must be an integer from 1 to ${modelEdge} (this model's longest edge), got ${longestEdge}`);
    }
    return { ...this.processorOptions, longestEdge, doImageSplitting: options.doImageSplitting ?? this.processorOptions.doImageSplitting };
  }
}

/** The features-cache key of an image: its bytes' hash and the tiling options. */
function featuresKey(sha256: string, options: ImageProcessorOptions): string {
  return `${sha256}:${options.longestEdge}:${options.doImageSplitting ? 'split' : 'whole'}`;
}

/** Pixel values given as they are (conformance checks, callers that tile images themselves) as one prepared image. */
export function preparedFromPixels(pixelValues: Float32Array, tileCount: number): PreparedImage {
  const bytes = new Uint8Array(pixelValues.buffer, pixelValues.byteOffset, pixelValues.byteLength);
  return {
    prepared: true,
    label: 'pixel values',
    rows: 0,
    cols: 0,
    tileCount,
    tileSize: Math.round(Math.sqrt(pixelValues.length / tileCount / 3)),
    pixelValues,
    sizes: { decoded: [0, 0], resized: [0, 0], resizedForTiles: [0, 0] },
    key: `raw:${createHash('sha256').update(bytes).digest('hex')}`,
    tokens: 0,
  };
}

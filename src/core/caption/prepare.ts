/**
 * Image bytes -> tiles ready for the vision encoder, as one plain function of plain data, so that it
 * runs the same on the main thread and on a prefetch worker (see prefetch.ts).
 */
import { createHash } from 'node:crypto';
import { decodeImage } from '../image/decode.js';
import { preprocessImage, type ImageProcessorOptions, type ProcessedImage } from '../image/preprocess.js';

/** How images are decoded and tiled: the model's processor options (with any per-run overrides applied). */
export interface PixelOptions {
  processor: ImageProcessorOptions;
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels?: number;
}

/** A decoded, resized and tiled image, plus the hash of its bytes (the model's features-cache key starts with it). */
export interface PreparedPixels extends ProcessedImage {
  /** Hex SHA-256 of the image bytes. */
  sha256: string;
}

/** Decodes (sharp), resizes (Pillow-exact Lanczos) and tiles one image. */
export async function preparePixels(bytes: Uint8Array, label: string, options: PixelOptions): Promise<PreparedPixels> {
  const raw = await decodeImage(bytes, { label, maxPixels: options.maxPixels });
  const processed = preprocessImage(raw, options.processor);
  return { ...processed, sha256: createHash('sha256').update(bytes).digest('hex') };
}

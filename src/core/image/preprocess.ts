/**
 * The SmolVLM / Idefics3 image processor (Python, slow PIL path): longest-edge resize, optional split into
 * M x M tiles plus a global M x M view, alpha composited on white, rescale and normalise to float32 CHW.
 */
import { SmolVLMError } from '../errors.js';
import { imageRows, LANCZOS, resizedRows } from './resample.js';
import { forEachRow, TappedRows, type RowSource } from './rows.js';
import type { RawImage } from './types.js';

export interface ImageProcessorOptions {
  /** `size.longest_edge`: the long side after the first resize. */
  longestEdge: number;
  /** `max_image_size.longest_edge`: side M of the square tiles fed to the vision encoder. */
  tileSize: number;
  doImageSplitting: boolean;
  rescaleFactor: number;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

export interface ProcessedImage {
  /** Tile grid; 0 x 0 when the image is a single tile. */
  rows: number;
  cols: number;
  /** rows * cols + 1, or 1. */
  tileCount: number;
  tileSize: number;
  /** tileCount x 3 x tileSize x tileSize, tiles row-major with the global view last. */
  pixelValues: Float32Array;
  /** [width, height] after decoding, after the longest-edge resize, and of the image the tiles are cut from. */
  sizes: { decoded: [number, number]; resized: [number, number]; resizedForTiles: [number, number] };
}

/** Python's `MAX_IMAGE_SIZE` in the Idefics3 processor: a cap after the longest-edge resize. */
const MAX_IMAGE_SIZE = 4096;

function positiveInteger(value: unknown, key: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new SmolVLMError('MODEL_INVALID', `preprocessor_config.json: ${key} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function triple(value: unknown, key: string, fallback: [number, number, number]): [number, number, number] {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number' && Number.isFinite(value)) return [value, value, value];
  if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    return [value[0], value[1], value[2]];
  }
  throw new SmolVLMError('MODEL_INVALID', `preprocessor_config.json: ${key} must be 3 numbers, got ${JSON.stringify(value)}`);
}

/** Reads the fields of a `preprocessor_config.json` this processor uses (defaults: Idefics3's). */
export function imageProcessorOptionsFromConfig(preprocessorConfigJson: unknown): ImageProcessorOptions {
  const cfg = (preprocessorConfigJson ?? {}) as Record<string, unknown>;
  const size = (cfg.size ?? {}) as Record<string, unknown>;
  const maxImageSize = (cfg.max_image_size ?? {}) as Record<string, unknown>;
  const tileSize = positiveInteger(maxImageSize.longest_edge, 'max_image_size.longest_edge', 364);
  const longestEdge = positiveInteger(size.longest_edge, 'size.longest_edge', 4 * tileSize);
  const doRescale = cfg.do_rescale !== false;
  const doNormalize = cfg.do_normalize !== false;
  let rescaleFactor = 1 / 255;
  if (cfg.rescale_factor !== undefined && cfg.rescale_factor !== null) {
    if (typeof cfg.rescale_factor !== 'number' || !Number.isFinite(cfg.rescale_factor)) {
      throw new SmolVLMError('MODEL_INVALID', `preprocessor_config.json: rescale_factor must be a number, got ${JSON.stringify(cfg.rescale_factor)}`);
    }
    rescaleFactor = cfg.rescale_factor;
  }
  const imageMean = triple(cfg.image_mean, 'image_mean', [0.5, 0.5, 0.5]);
  const imageStd = triple(cfg.image_std, 'image_std', [0.5, 0.5, 0.5]);
  if (imageStd.some((s) => s === 0)) throw new SmolVLMError('MODEL_INVALID', 'preprocessor_config.json: image_std must not contain 0');
  return {
    longestEdge,
    tileSize,
    doImageSplitting: cfg.do_image_splitting !== false,
    // Turning a step off is the same as rescaling by 1 / normalising with mean 0, std 1 (both exact).
    rescaleFactor: doRescale ? rescaleFactor : 1,
    imageMean: doNormalize ? imageMean : [0, 0, 0],
    imageStd: doNormalize ? imageStd : [1, 1, 1],
  };
}

/** Step 1: the long side becomes `longestEdge`, the other side follows the aspect ratio, rounded up to even. */
export function longestEdgeSize(width: number, height: number, longestEdge: number): [number, number] {
  const aspect = width / height;
  let w: number;
  let h: number;
  if (width >= height) {
    w = longestEdge;
    h = Math.trunc(w / aspect);
    if (h % 2 !== 0) h += 1;
  } else {
    h = longestEdge;
    w = Math.trunc(h * aspect);
    if (w % 2 !== 0) w += 1;
  }
  h = Math.max(h, 1);
  w = Math.max(w, 1);
  // Python then scales below MAX_IMAGE_SIZE (never triggers for the configs of this family).
  const cappedAspect = w / h;
  if (w >= h && w > MAX_IMAGE_SIZE) {
    w = MAX_IMAGE_SIZE;
    h = Math.trunc(w / cappedAspect);
  } else if (h > w && h > MAX_IMAGE_SIZE) {
    h = MAX_IMAGE_SIZE;
    w = Math.trunc(h * cappedAspect);
  }
  return [Math.max(w, 1), Math.max(h, 1)];
}

/** Step 2 (splitting): both sides up to multiples of the tile size, the short one via the aspect ratio. */
export function tileAlignedSize(width: number, height: number, tileSize: number): [number, number] {
  const aspect = width / height;
  let w: number;
  let h: number;
  if (width >= height) {
    w = Math.ceil(width / tileSize) * tileSize;
    h = Math.trunc(w / aspect);
    h = Math.ceil(h / tileSize) * tileSize;
  } else {
    h = Math.ceil(height / tileSize) * tileSize;
    w = Math.trunc(h * aspect);
    w = Math.ceil(w / tileSize) * tileSize;
  }
  return [w, h];
}

/**
 * transformers' `convert_to_rgb` on one row: Pillow's `alpha_composite` of RGBA pixels over opaque
 * white, alpha dropped. With an opaque destination Pillow's integer formula reduces to this one.
 */
function compositeRowOnWhite(src: Uint8ClampedArray, at: number, pixels: number, out: Uint8ClampedArray): void {
  for (let i = 0, s = at, d = 0; i < pixels; i++, s += 4, d += 3) {
    const a = src[s + 3]!;
    if (a === 0) {
      out[d] = 255;
      out[d + 1] = 255;
      out[d + 2] = 255;
      continue;
    }
    // Pillow keeps 7 extra bits: coef1 = a * 128, coef2 = (255 - a) * 128 when the background alpha is 255.
    const srcCoef = a << 7;
    const dstTerm = 255 * ((255 - a) << 7) + (0x80 << 7);
    for (let c = 0; c < 3; c++) {
      const t = src[s + c]! * srcCoef + dstTerm;
      out[d + c] = (((t >> 8) + t) >> 8) >> 7;
    }
  }
}

/** Per channel, the float32 value of every 8-bit level: (x * rescale - mean) / std as numpy does it. */
function normalisationTables(options: ImageProcessorOptions): Float32Array[] {
  const factor = options.rescaleFactor;
  return [0, 1, 2].map((c) => {
    const mean = Math.fround(options.imageMean[c]!);
    const std = Math.fround(options.imageStd[c]!);
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) {
      // float64 product rounded to float32 (transformers' rescale), then float32 arithmetic (normalize).
      const scaled = Math.fround(v * factor);
      table[v] = Math.fround(Math.fround(scaled - mean) / std);
    }
    return table;
  });
}

/**
 * Writes the rows of an image `cols` tiles wide, as they stream by, into M x M tiles of CHW floats
 * (tiles row-major from tile `firstTile` of `out`): RGBA composited on white, each sample through its
 * channel's table (rescale and normalise in one lookup).
 */
function tileRowWriter(
  out: Float32Array,
  firstTile: number,
  cols: number,
  size: number,
  channels: number,
  tables: Float32Array[],
): (row: Uint8ClampedArray, at: number, y: number) => void {
  const plane = size * size;
  const [r, g, b] = tables as [Float32Array, Float32Array, Float32Array];
  const rgb = channels === 4 ? new Uint8ClampedArray(cols * size * 3) : undefined;
  return (row, at, y) => {
    let data = row;
    let s = at;
    if (rgb) {
      compositeRowOnWhite(row, at, cols * size, rgb);
      data = rgb;
      s = 0;
    }
    const tileRow = Math.floor(y / size);
    for (let c = 0; c < cols; c++) {
      const d = (firstTile + tileRow * cols + c) * 3 * plane + (y - tileRow * size) * size;
      for (let x = 0; x < size; x++, s += 3) {
        out[d + x] = r[data[s]!]!;
        out[d + plane + x] = g[data[s + 1]!]!;
        out[d + 2 * plane + x] = b[data[s + 2]!]!;
      }
    }
  };
}

/**
 * The processor's steps as Pillow resizes in a row stream (./rows.ts): the longest-edge resize, the
 * tile-aligned resize, and the global view's resize are never held whole; the tiles and the global view
 * are written straight into the output floats. Bit-exact to running the resizes one after the other.
 */
export function preprocessImage(image: RawImage, options: ImageProcessorOptions): ProcessedImage {
  const M = options.tileSize;
  const [w1, h1] = longestEdgeSize(image.width, image.height, options.longestEdge);
  const resized = resizedRows(imageRows(image), w1, h1, LANCZOS);

  let rows = 0;
  let cols = 0;
  let forTiles: RowSource;
  if (options.doImageSplitting) {
    const [w2, h2] = tileAlignedSize(w1, h1, M);
    forTiles = resizedRows(resized, w2, h2, LANCZOS);
    if (w2 > M || h2 > M) {
      rows = Math.ceil(h2 / M);
      cols = Math.ceil(w2 / M);
    }
  } else {
    forTiles = resizedRows(resized, M, M, LANCZOS);
  }

  const tileCount = rows * cols + 1;
  const pixelValues = new Float32Array(tileCount * 3 * M * M);
  const tables = normalisationTables(options);
  const writeGlobal = tileRowWriter(pixelValues, tileCount - 1, 1, M, image.channels, tables);
  if (rows > 0) {
    // The tiles are cut from the rows on their way into the global view's resize.
    const tiles = new TappedRows(forTiles, tileRowWriter(pixelValues, 0, cols, M, image.channels, tables));
    forEachRow(resizedRows(tiles, M, M, LANCZOS), writeGlobal);
    tiles.finish();
  } else {
    forEachRow(forTiles, writeGlobal);
  }

  return {
    rows,
    cols,
    tileCount,
    tileSize: M,
    pixelValues,
    sizes: {
      decoded: [image.width, image.height],
      resized: [w1, h1],
      resizedForTiles: [forTiles.width, forTiles.height],
    },
  };
}

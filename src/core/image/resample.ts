/**
 * Lanczos (a = 3) and bicubic (a = -0.5) resampling that reproduce Pillow's
 * `Image.resize(..., Image.LANCZOS | Image.BICUBIC)` on 8-bit images bit for bit: two separable passes
 * (horizontal first), the filter widened by the downscale factor (Pillow's antialiasing), weights
 * normalised per output sample and then turned into fixed point, 8-bit clipping after each pass, and a
 * pass skipped when its dimension does not change. RGBA is resized premultiplied, as Pillow does
 * (RGBA -> RGBa -> resize -> RGBA, with Pillow's integer rounding).
 */
import { buildTaps, type ResampleFilter } from './resample-kernels.js';
import { wasmKernelsAvailable } from './resample-wasm.js';
import { BufferRows, HorizontalRows, MappedRows, readAllRows, VerticalRows, type RowSource } from './rows.js';
import { WasmHorizontalRows, WasmVerticalRows } from './rows-wasm.js';
import type { RawImage } from './types.js';

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

export const LANCZOS: ResampleFilter = {
  kernel: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0),
  support: 3,
};

/** Pillow's `bicubic_filter`: Keys' cubic convolution with a = -0.5, written in its operation order. */
const BICUBIC_A = -0.5;
export const BICUBIC: ResampleFilter = {
  kernel: (t) => {
    const x = t < 0 ? -t : t;
    if (x < 1) return ((BICUBIC_A + 2) * x - (BICUBIC_A + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * BICUBIC_A;
    return 0;
  },
  support: 2,
};

/** Pillow's RGBA -> RGBa: c * a / 255 rounded with its shift trick. In place on [from, to). */
function premultiplyAlpha(data: Uint8ClampedArray, from: number, to: number): void {
  for (let i = from; i < to; i += 4) {
    const a = data[i + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = data[i + c]! * a + 128;
      data[i + c] = ((t >> 8) + t) >> 8;
    }
  }
}

/** Pillow's RGBa -> RGBA: floor(255 * c / a) clipped (by the clamped store), alpha 0 and 255 left alone. */
function unpremultiplyAlpha(data: Uint8ClampedArray, from: number, to: number): void {
  for (let i = from; i < to; i += 4) {
    const a = data[i + 3]!;
    if (a === 0 || a === 255) continue;
    for (let c = 0; c < 3; c++) data[i + c] = Math.floor((255 * data[i + c]!) / a);
  }
}

/**
 * Which kernels run the passes: WebAssembly SIMD (./resample-wasm.ts) where the runtime has it, else
 * JavaScript (./resample-kernels.ts). Both give the same bits; tests pick one to compare them.
 */
export type ResampleEngine = 'wasm' | 'js';

function defaultEngine(): ResampleEngine {
  return wasmKernelsAvailable() ? 'wasm' : 'js';
}

/**
 * The rows of `source` resized to width x height as Pillow's `Image.resize` does, or `source` itself
 * when the size does not change. Horizontal pass first, each pass skipped when its dimension stays; the
 * vertical pass pulls only the source rows its filter reaches (Pillow's box of needed rows).
 */
export function resizedRows(source: RowSource, width: number, height: number, filter: ResampleFilter, engine = defaultEngine()): RowSource {
  if (width === source.width && height === source.height) return source;
  const alpha = source.channels === 4;
  const wasm = engine === 'wasm' && source.channels <= 4;
  let rows = alpha ? new MappedRows(source, premultiplyAlpha) : source;
  if (width !== source.width) {
    const taps = buildTaps(source.width, width, filter);
    rows = (wasm && wasmStage(() => new WasmHorizontalRows(rows, width, taps))) || new HorizontalRows(rows, width, taps);
  }
  if (height !== source.height) {
    const taps = buildTaps(source.height, height, filter);
    rows = (wasm && wasmStage(() => new WasmVerticalRows(rows, height, taps))) || new VerticalRows(rows, height, taps);
  }
  return alpha ? new MappedRows(rows, unpremultiplyAlpha) : rows;
}

/** A WebAssembly stage, or undefined where its memory cannot be had (a capped address space). */
function wasmStage(make: () => RowSource): RowSource | undefined {
  try {
    return make();
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

/** The rows of an image held in memory. */
export function imageRows(image: RawImage): RowSource {
  return new BufferRows(image.data, image.width, image.height, image.channels);
}

function checkSize(caller: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${caller}: ${name} must be a positive integer, got ${value}`);
}

/**
 * `image` resized to each size in turn (as many `Image.resize` calls), without keeping the images in
 * between: rows stream through the chain. A size equal to the current one is skipped (no copy, as
 * resizing to the same size changes nothing); the result is always a new image.
 */
export function resizeChain(
  caller: string,
  filter: ResampleFilter,
  image: RawImage,
  sizes: readonly (readonly [number, number])[],
  engine = defaultEngine(),
): RawImage {
  let rows = imageRows(image);
  for (const [width, height] of sizes) {
    checkSize(caller, 'width', width);
    checkSize(caller, 'height', height);
    rows = resizedRows(rows, width, height, filter, engine);
  }
  return { width: rows.width, height: rows.height, channels: image.channels, data: readAllRows(rows) };
}

/** Resize like Pillow's `Image.resize((width, height), Image.LANCZOS)`; the same size returns a copy. */
export function resizeLanczos(image: RawImage, width: number, height: number): RawImage {
  return resizeChain('resizeLanczos', LANCZOS, image, [[width, height]]);
}

/**
 * Resize like Pillow's `Image.resize((width, height), Image.BICUBIC)` (antialiased when shrinking, as
 * Pillow always is); the same size returns a copy. torchvision's antialiased bicubic on uint8 tensors
 * follows the same kernel and support, which is what transformers' SmolVLM video processor uses.
 */
export function resizeBicubic(image: RawImage, width: number, height: number): RawImage {
  return resizeChain('resizeBicubic', BICUBIC, image, [[width, height]]);
}

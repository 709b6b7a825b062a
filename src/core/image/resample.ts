/**
 * Lanczos (a = 3) and bicubic (a = -0.5) resampling that reproduce Pillow's
 * `Image.resize(..., Image.LANCZOS | Image.BICUBIC)` on 8-bit images bit for bit: two separable passes
 * (horizontal first), the filter widened by the downscale factor (Pillow's antialiasing), weights
 * normalised per output sample and then turned into fixed point, 8-bit clipping after each pass, and a
 * pass skipped when its dimension does not change. RGBA is resized premultiplied, as Pillow does
 * (RGBA -> RGBa -> resize -> RGBA, with Pillow's integer rounding).
 */
import type { RawImage } from './types.js';

const FIXED_BITS = 22; // 32 bits - 8 bits of sample - 2 bits of headroom for lobes over/under 1
const FIXED_ONE = 1 << FIXED_BITS;
const FIXED_HALF = 1 << (FIXED_BITS - 1);

/** A separable filter as Pillow defines one: its kernel and its support (half-width) at scale 1. */
interface ResampleFilter {
  kernel: (x: number) => number;
  support: number;
}

/** Per output sample: the first source index, how many source samples it reads, and their weights. */
interface TapTable {
  start: Int32Array;
  count: Int32Array;
  weights: Int32Array;
  stride: number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

const LANCZOS: ResampleFilter = {
  kernel: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0),
  support: 3,
};

/** Pillow's `bicubic_filter`: Keys' cubic convolution with a = -0.5, written in its operation order. */
const BICUBIC_A = -0.5;
const BICUBIC: ResampleFilter = {
  kernel: (t) => {
    const x = t < 0 ? -t : t;
    if (x < 1) return ((BICUBIC_A + 2) * x - (BICUBIC_A + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * BICUBIC_A;
    return 0;
  },
  support: 2,
};

function buildTaps(inSize: number, outSize: number, filter: ResampleFilter): TapTable {
  const scale = inSize / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = filter.support * filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const invFilterScale = 1 / filterScale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * stride);
  const raw = new Float64Array(stride);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // Math.trunc mirrors C's (int) cast; the +0.5 is Pillow's rounding of the window ends.
    let lo = Math.trunc(center - support + 0.5);
    if (lo < 0) lo = 0;
    let hi = Math.trunc(center + support + 0.5);
    if (hi > inSize) hi = inSize;
    const n = hi - lo;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const w = filter.kernel((j + lo - center + 0.5) * invFilterScale);
      raw[j] = w;
      sum += w;
    }
    const base = i * stride;
    for (let j = 0; j < n; j++) {
      const k = sum !== 0 ? raw[j]! / sum : raw[j]!;
      weights[base + j] = k < 0 ? Math.trunc(-0.5 + k * FIXED_ONE) : Math.trunc(0.5 + k * FIXED_ONE);
    }
    start[i] = lo;
    count[i] = n;
  }
  return { start, count, weights, stride };
}

/**
 * Horizontal pass over source rows [firstRow, firstRow + rows). Writing into a Uint8ClampedArray
 * gives the 0..255 clip of the fixed-point sum for free (the sum is an integer after the shift).
 * Integer sums do not depend on the order of their terms, so taps are taken two at a time.
 * Over 80 lines on purpose (the house's one exception): the per-channel-count inner loops are
 * written out, because a shared helper per pixel costs a call per tap on the hottest loop.
 */
function resampleRows(
  src: Uint8Array,
  srcWidth: number,
  channels: number,
  firstRow: number,
  rows: number,
  outWidth: number,
  taps: TapTable,
): Uint8ClampedArray {
  const out = new Uint8ClampedArray(outWidth * rows * channels);
  const { start, count, weights, stride } = taps;
  const srcRowLen = srcWidth * channels;
  let d = 0;
  if (channels === 3) {
    for (let y = 0; y < rows; y++) {
      const rowBase = (firstRow + y) * srcRowLen;
      for (let x = 0; x < outWidth; x++) {
        const n = count[x]!;
        const kBase = x * stride;
        let p = rowBase + start[x]! * 3;
        let s0 = FIXED_HALF;
        let s1 = FIXED_HALF;
        let s2 = FIXED_HALF;
        let j = 0;
        for (; j + 1 < n; j += 2) {
          const k = weights[kBase + j]!;
          const q = weights[kBase + j + 1]!;
          s0 += src[p]! * k + src[p + 3]! * q;
          s1 += src[p + 1]! * k + src[p + 4]! * q;
          s2 += src[p + 2]! * k + src[p + 5]! * q;
          p += 6;
        }
        if (j < n) {
          const k = weights[kBase + j]!;
          s0 += src[p]! * k;
          s1 += src[p + 1]! * k;
          s2 += src[p + 2]! * k;
        }
        out[d] = s0 >> FIXED_BITS;
        out[d + 1] = s1 >> FIXED_BITS;
        out[d + 2] = s2 >> FIXED_BITS;
        d += 3;
      }
    }
  } else if (channels === 4) {
    for (let y = 0; y < rows; y++) {
      const rowBase = (firstRow + y) * srcRowLen;
      for (let x = 0; x < outWidth; x++) {
        const n = count[x]!;
        const kBase = x * stride;
        let p = rowBase + start[x]! * 4;
        let s0 = FIXED_HALF;
        let s1 = FIXED_HALF;
        let s2 = FIXED_HALF;
        let s3 = FIXED_HALF;
        let j = 0;
        for (; j + 1 < n; j += 2) {
          const k = weights[kBase + j]!;
          const q = weights[kBase + j + 1]!;
          s0 += src[p]! * k + src[p + 4]! * q;
          s1 += src[p + 1]! * k + src[p + 5]! * q;
          s2 += src[p + 2]! * k + src[p + 6]! * q;
          s3 += src[p + 3]! * k + src[p + 7]! * q;
          p += 8;
        }
        if (j < n) {
          const k = weights[kBase + j]!;
          s0 += src[p]! * k;
          s1 += src[p + 1]! * k;
          s2 += src[p + 2]! * k;
          s3 += src[p + 3]! * k;
        }
        out[d] = s0 >> FIXED_BITS;
        out[d + 1] = s1 >> FIXED_BITS;
        out[d + 2] = s2 >> FIXED_BITS;
        out[d + 3] = s3 >> FIXED_BITS;
        d += 4;
      }
    }
  } else {
    for (let y = 0; y < rows; y++) {
      const rowBase = (firstRow + y) * srcRowLen;
      for (let x = 0; x < outWidth; x++) {
        const n = count[x]!;
        const kBase = x * stride;
        for (let c = 0; c < channels; c++) {
          let p = rowBase + start[x]! * channels + c;
          let s = FIXED_HALF;
          for (let j = 0; j < n; j++) {
            s += src[p]! * weights[kBase + j]!;
            p += channels;
          }
          out[d++] = s >> FIXED_BITS;
        }
      }
    }
  }
  return out;
}

/**
 * Vertical pass: every output row is a weighted sum of `count` consecutive source rows, accumulated a
 * whole row at a time (sequential reads), four source rows per sweep. Taps are padded to a multiple of
 * four with zero weights on a valid row; the first sweep initialises the sums and the last one writes
 * the clipped bytes, so a 7-tap upscale costs two sweeps.
 */
function resampleColumns(src: Uint8Array, rowLen: number, outHeight: number, taps: TapTable, rowOffset: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(rowLen * outHeight);
  const acc = new Int32Array(rowLen);
  const { start, count, weights, stride } = taps;
  const padded = Math.ceil(stride / 4) * 4;
  const bases = new Int32Array(padded);
  const ks = new Int32Array(padded);
  for (let y = 0; y < outHeight; y++) {
    const n = count[y]!;
    const firstBase = (start[y]! - rowOffset) * rowLen;
    const groups = Math.max(1, Math.ceil(n / 4));
    for (let j = 0; j < groups * 4; j++) {
      bases[j] = j < n ? firstBase + j * rowLen : firstBase;
      ks[j] = j < n ? weights[y * stride + j]! : 0;
    }
    const o = y * rowLen;
    for (let g = 0; g < groups; g++) {
      const j = g * 4;
      const k0 = ks[j]!;
      const k1 = ks[j + 1]!;
      const k2 = ks[j + 2]!;
      const k3 = ks[j + 3]!;
      const b0 = bases[j]!;
      const b1 = bases[j + 1]!;
      const b2 = bases[j + 2]!;
      const b3 = bases[j + 3]!;
      const first = g === 0;
      const last = g === groups - 1;
      if (first && last) {
        for (let i = 0; i < rowLen; i++) {
          out[o + i] = (FIXED_HALF + src[b0 + i]! * k0 + src[b1 + i]! * k1 + src[b2 + i]! * k2 + src[b3 + i]! * k3) >> FIXED_BITS;
        }
      } else if (first) {
        for (let i = 0; i < rowLen; i++) {
          acc[i] = FIXED_HALF + src[b0 + i]! * k0 + src[b1 + i]! * k1 + src[b2 + i]! * k2 + src[b3 + i]! * k3;
        }
      } else if (last) {
        for (let i = 0; i < rowLen; i++) {
          out[o + i] = (acc[i]! + src[b0 + i]! * k0 + src[b1 + i]! * k1 + src[b2 + i]! * k2 + src[b3 + i]! * k3) >> FIXED_BITS;
        }
      } else {
        for (let i = 0; i < rowLen; i++) {
          acc[i] += src[b0 + i]! * k0 + src[b1 + i]! * k1 + src[b2 + i]! * k2 + src[b3 + i]! * k3;
        }
      }
    }
  }
  return out;
}

function asBytes(clamped: Uint8ClampedArray): Uint8Array {
  return new Uint8Array(clamped.buffer, clamped.byteOffset, clamped.length);
}

/** Separable resize of interleaved 8-bit samples (any channel count), as Pillow's 8-bit resampler. */
function resampleInterleaved(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
  filter: ResampleFilter,
): Uint8Array {
  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;
  if (!needHorizontal && !needVertical) return data.slice();

  const vTaps = needVertical ? buildTaps(height, outHeight, filter) : undefined;
  // Both passes read plain Uint8Arrays (one element kind keeps V8's loads monomorphic).
  let current = data;
  let rowOffset = 0;
  if (needHorizontal) {
    // Only the source rows the vertical pass will read.
    let firstRow = 0;
    let lastRow = height;
    if (vTaps) {
      firstRow = vTaps.start[0]!;
      lastRow = vTaps.start[outHeight - 1]! + vTaps.count[outHeight - 1]!;
    }
    current = asBytes(resampleRows(data, width, channels, firstRow, lastRow - firstRow, outWidth, buildTaps(width, outWidth, filter)));
    rowOffset = firstRow;
  }
  if (vTaps) current = asBytes(resampleColumns(current, outWidth * channels, outHeight, vTaps, rowOffset));
  return current;
}

/** Pillow's RGBA -> RGBa: c * a / 255 rounded with its shift trick. In place. */
function premultiplyAlpha(data: Uint8Array): void {
  for (let i = 0; i < data.length; i += 4) {
    const a = data[i + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = data[i + c]! * a + 128;
      data[i + c] = ((t >> 8) + t) >> 8;
    }
  }
}

/** Pillow's RGBa -> RGBA: floor(255 * c / a) clipped, alpha 0 and 255 left alone. In place. */
function unpremultiplyAlpha(data: Uint8Array): void {
  for (let i = 0; i < data.length; i += 4) {
    const a = data[i + 3]!;
    if (a === 0 || a === 255) continue;
    for (let c = 0; c < 3; c++) {
      const v = Math.floor((255 * data[i + c]!) / a);
      data[i + c] = v > 255 ? 255 : v;
    }
  }
}

function checkSize(caller: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${caller}: ${name} must be a positive integer, got ${value}`);
}

function resizeWith(caller: string, filter: ResampleFilter, image: RawImage, width: number, height: number): RawImage {
  checkSize(caller, 'width', width);
  checkSize(caller, 'height', height);
  const { channels } = image;
  if (width === image.width && height === image.height) {
    return { width, height, channels, data: image.data.slice() };
  }
  let src = image.data;
  if (channels === 4) {
    src = image.data.slice();
    premultiplyAlpha(src);
  }
  const data = resampleInterleaved(src, image.width, image.height, channels, width, height, filter);
  if (channels === 4) unpremultiplyAlpha(data);
  return { width, height, channels, data };
}

/** Resize like Pillow's `Image.resize((width, height), Image.LANCZOS)`; the same size returns a copy. */
export function resizeLanczos(image: RawImage, width: number, height: number): RawImage {
  return resizeWith('resizeLanczos', LANCZOS, image, width, height);
}

/**
 * Resize like Pillow's `Image.resize((width, height), Image.BICUBIC)` (antialiased when shrinking, as
 * Pillow always is); the same size returns a copy. torchvision's antialiased bicubic on uint8 tensors
 * follows the same kernel and support, which is what transformers' SmolVLM video processor uses.
 */
export function resizeBicubic(image: RawImage, width: number, height: number): RawImage {
  return resizeWith('resizeBicubic', BICUBIC, image, width, height);
}

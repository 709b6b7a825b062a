/**
 * The arithmetic of Pillow's 8-bit resampler (`ImagingResample`, libImaging/Resample.c), one row at a
 * time: per output sample a window of source samples, weights normalised in float64 and then turned
 * into 22-bit fixed point, an integer sum started at one half, shifted and clipped to 0..255. Integer
 * sums do not depend on the order of their terms, so the loops below take taps in whatever grouping is
 * fastest and stay bit-exact. Hand-written: no npm package reproduces Pillow's resampler bit for bit.
 */

const FIXED_BITS = 22; // 32 bits - 8 bits of sample - 2 bits of headroom for lobes over/under 1
const FIXED_ONE = 1 << FIXED_BITS;
const FIXED_HALF = 1 << (FIXED_BITS - 1);

/** A separable filter as Pillow defines one: its kernel and its support (half-width) at scale 1. */
export interface ResampleFilter {
  kernel: (x: number) => number;
  support: number;
}

/** Per output sample: the first source index, how many source samples it reads, and their weights. */
export interface TapTable {
  start: Int32Array;
  count: Int32Array;
  /** `stride` fixed-point weights per output sample, zero past `count`. */
  weights: Int32Array;
  stride: number;
}

/** Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc` for resizing `inSize` samples to `outSize`. */
export function buildTaps(inSize: number, outSize: number, filter: ResampleFilter): TapTable {
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
 * One row of the horizontal pass: `src` holds one source row from index 0; `outWidth` pixels are
 * written into `out` from `at` (the clamped store is the clip). Taps are taken two at a time.
 * Over 80 lines on purpose (the house's one exception): the per-channel-count inner loops are
 * written out, because a shared helper per pixel costs a call per tap on the hottest loop.
 */
export function horizontalRow(src: Uint8ClampedArray, channels: number, outWidth: number, taps: TapTable, out: Uint8ClampedArray, at: number): void {
  const { start, count, weights, stride } = taps;
  let d = at;
  if (channels === 3) {
    for (let x = 0, kBase = 0; x < outWidth; x++, kBase += stride) {
      const n = count[x]!;
      let p = start[x]! * 3;
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
  } else if (channels === 4) {
    for (let x = 0, kBase = 0; x < outWidth; x++, kBase += stride) {
      const n = count[x]!;
      let p = start[x]! * 4;
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
  } else {
    for (let x = 0, kBase = 0; x < outWidth; x++, kBase += stride) {
      const n = count[x]!;
      for (let c = 0; c < channels; c++) {
        let p = start[x]! * channels + c;
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

/**
 * One row of the vertical pass: output row `y` is the weighted sum of the source rows starting at
 * `bases[0..count)` in `src`, accumulated a whole row at a time (sequential reads), four source rows
 * per sweep. Past `count` a sweep reads row bases[0] with weight 0; the first sweep starts the sums
 * and the last one writes the clipped bytes, so a 7-tap upscale costs two sweeps.
 */
export function verticalRow(
  src: Uint8ClampedArray,
  bases: Int32Array,
  taps: TapTable,
  y: number,
  rowLength: number,
  acc: Int32Array,
  out: Uint8ClampedArray,
  at: number,
): void {
  const n = taps.count[y]!;
  const kBase = y * taps.stride;
  const weights = taps.weights;
  const groups = n > 4 ? Math.ceil(n / 4) : 1;
  for (let g = 0; g < groups; g++) {
    const j = g * 4;
    const b0 = bases[j]!;
    const k0 = weights[kBase + j]!;
    const b1 = j + 1 < n ? bases[j + 1]! : b0;
    const k1 = j + 1 < n ? weights[kBase + j + 1]! : 0;
    const b2 = j + 2 < n ? bases[j + 2]! : b0;
    const k2 = j + 2 < n ? weights[kBase + j + 2]! : 0;
    const b3 = j + 3 < n ? bases[j + 3]! : b0;
    const k3 = j + 3 < n ? weights[kBase + j + 3]! : 0;
    const first = g === 0;
    const last = g === groups - 1;
    if (first && last) {
      for (let i = 0; i < rowLength; i++) {
        out[at + i] = (FIXED_HALF + src[b0 + i]! * k0 + src[b1 + i]! * k1 + src[b2 + i]! * k2 + src[b3 + i]! * k3) >> FIXED_BITS;
      }
    } else if (first) {
      for (let i = 0; i < rowLength; i++) {
        acc[i] = FIXED_HALF + src[b0 + i]! * k0 + src[b1 + i]! * k1 + src[b2 + i]! * k2 + src[b3 + i]! * k3;
      }
    } else if (last) {
      for (let i = 0; i < rowLength; i++) {
        out[at + i] = (acc[i]! + src[b0 + i]! * k0 + src[b1 + i]! * k1 + src[b2 + i]! * k2 + src[b3 + i]! * k3) >> FIXED_BITS;
      }
    } else {
      for (let i = 0; i < rowLength; i++) {
        acc[i] += src[b0 + i]! * k0 + src[b1 + i]! * k1 + src[b2 + i]! * k2 + src[b3 + i]! * k3;
      }
    }
  }
}

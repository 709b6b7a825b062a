/**
 * Weight formats of the official variants and the `linear` layer that emits the matching ops:
 *  fp32 / fp16   MatMul on float weights
 *  int8 / uint8  DynamicQuantizeLinear + MatMulInteger + Cast + Mul (what onnxruntime's quantize_dynamic emits);
 *                int8 weights over the full or the 7-bit range (Int8Range)
 *  q4 / q4f16    com.microsoft MatMulNBits, 4 bits, block 32, symmetric (no zero points: implicit 8)
 */
import { bytesOf, DT, type DataType, GraphBuilder, toHalfArray } from './onnx-builder.js';
import { transpose } from './weights.js';

export type WeightMode = 'fp32' | 'fp16' | 'int8' | 'uint8' | 'q4' | 'q4f16';

export const Q4_BLOCK = 32;

/**
 * Range of int8 weights. `full`: [-127, 127], as transformers.js's quantize script writes the official
 * `_int8` files (reduce_range off). `reduced`: [-64, 64], onnxruntime's 7-bit `reduce_range`: a pair of
 * uint8 x int8 products sums to at most 2 * 255 * 64 = 32640, which fits the int16 that the kernels of
 * x86 CPUs without VNNI add pairs into, so those cannot saturate.
 */
export type Int8Range = 'full' | 'reduced';

/** Float type of activations for a weight mode. */
export function computeType(mode: WeightMode): DataType {
  return mode === 'fp16' || mode === 'q4f16' ? DT.FLOAT16 : DT.FLOAT;
}

export function floatBytes(values: Float32Array, dataType: DataType): Uint8Array {
  return dataType === DT.FLOAT16 ? bytesOf(toHalfArray(values)) : bytesOf(values);
}

export function quantizeInt8Symmetric(w: Float32Array, range: Int8Range = 'full'): { q: Int8Array; scale: number } {
  const qmax = range === 'full' ? 127 : 64;
  let amax = 0;
  for (let i = 0; i < w.length; i++) amax = Math.max(amax, Math.abs(w[i]!));
  const scale = Math.fround(amax > 0 ? amax / qmax : 1);
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-qmax, Math.min(qmax, Math.round(w[i]! / scale)));
  return { q, scale };
}

export function quantizeUint8Asymmetric(w: Float32Array): { q: Uint8Array; scale: number; zeroPoint: number } {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < w.length; i++) {
    lo = Math.min(lo, w[i]!);
    hi = Math.max(hi, w[i]!);
  }
  const scale = Math.fround(hi > lo ? (hi - lo) / 255 : 1);
  const zeroPoint = Math.max(0, Math.min(255, Math.round(-lo / scale)));
  const q = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(0, Math.min(255, Math.round(w[i]! / scale) + zeroPoint));
  return { q, scale, zeroPoint };
}

/**
 * 4-bit blockwise quantization of a row-major [n, k] weight (one row per output feature) into the
 * MatMulNBits layout: packed [n, ceil(k/32), 16] (element 2i in the low nibble) and scales [n * blocks].
 */
export function quantizeQ4(w: Float32Array, n: number, k: number): { packed: Uint8Array; scales: Float32Array } {
  const blocks = Math.ceil(k / Q4_BLOCK);
  const packed = new Uint8Array(n * blocks * (Q4_BLOCK / 2));
  const scales = new Float32Array(n * blocks);
  const codes = new Uint8Array(Q4_BLOCK);
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < blocks; b++) {
      const start = r * k + b * Q4_BLOCK;
      const len = Math.min(Q4_BLOCK, k - b * Q4_BLOCK);
      let amax = 0;
      for (let i = 0; i < len; i++) amax = Math.max(amax, Math.abs(w[start + i]!));
      const scale = Math.fround(amax > 0 ? amax / 7 : 1);
      scales[r * blocks + b] = scale;
      codes.fill(8);
      for (let i = 0; i < len; i++) codes[i] = Math.max(0, Math.min(15, Math.round(w[start + i]! / scale) + 8));
      const out = (r * blocks + b) * (Q4_BLOCK / 2);
      for (let i = 0; i < Q4_BLOCK / 2; i++) packed[out + i] = codes[2 * i]! | (codes[2 * i + 1]! << 4);
    }
  }
  return { packed, scales };
}

/** Computes a value once for several initializers and forgets it after the last one took it. */
export function shared<T>(users: number, compute: () => T): () => T {
  let value: T | undefined;
  let left = users;
  return () => {
    value ??= compute();
    const v = value;
    if (--left === 0) value = undefined;
    return v;
  };
}

export interface LinearSpec {
  name: string;
  inFeatures: number;
  outFeatures: number;
  /** PyTorch layout [out, in]. */
  weight: () => Float32Array;
  bias?: () => Float32Array;
}

/** y = x W^T (+ b) for `x` [..., in] in the activation type of `mode`. */
export function linear(g: GraphBuilder, x: string, spec: LinearSpec, mode: WeightMode, int8Range: Int8Range = 'full'): string {
  const { name, inFeatures: k, outFeatures: n } = spec;
  const ct = computeType(mode);
  let y: string;
  switch (mode) {
    case 'fp32':
    case 'fp16': {
      const w = g.initializer(`${name}.weight`, ct, [k, n], () => floatBytes(transpose(spec.weight(), n, k), ct));
      y = g.op('MatMul', [x, w]);
      break;
    }
    case 'int8':
    case 'uint8': {
      const signed = mode === 'int8';
      const qt = signed ? DT.INT8 : DT.UINT8;
      const quant = shared(3, () => {
        const wt = transpose(spec.weight(), n, k);
        return signed ? { ...quantizeInt8Symmetric(wt, int8Range), zeroPoint: 0 } : quantizeUint8Asymmetric(wt);
      });
      const wq = g.initializer(`${name}.weight_quantized`, qt, [k, n], () => bytesOf(quant().q));
      const ws = g.initializer(`${name}.weight_scale`, DT.FLOAT, [], () => bytesOf(Float32Array.of(quant().scale)));
      const wz = g.initializer(`${name}.weight_zero_point`, qt, [], () => {
        const zp = quant().zeroPoint;
        return signed ? bytesOf(Int8Array.of(zp)) : Uint8Array.of(zp);
      });
      const [xq, xs, xz] = g.opN('DynamicQuantizeLinear', [x], {}, { outputs: 3 }) as [string, string, string];
      const acc = g.op('MatMulInteger', [xq, wq, xz, wz]);
      const accF = g.op('Cast', [acc], { to: DT.FLOAT });
      y = g.op('Mul', [accF, g.op('Mul', [xs, ws])]);
      break;
    }
    case 'q4':
    case 'q4f16': {
      const blocks = Math.ceil(k / Q4_BLOCK);
      const quant = shared(2, () => quantizeQ4(spec.weight(), n, k));
      const b = g.initializer(`${name}.weight_Q4`, DT.UINT8, [n, blocks, Q4_BLOCK / 2], () => quant().packed);
      const s = g.initializer(`${name}.weight_scales`, ct, [n * blocks], () => floatBytes(quant().scales, ct));
      y = g.op('MatMulNBits', [x, b, s], { K: k, N: n, bits: 4, block_size: Q4_BLOCK }, { domain: 'com.microsoft' });
      break;
    }
  }
  if (spec.bias) {
    const bias = spec.bias;
    const bname = g.initializer(`${name}.bias`, ct, [n], () => floatBytes(bias(), ct));
    y = g.op('Add', [y, bname]);
  }
  return y;
}

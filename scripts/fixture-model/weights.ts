/**
 * Deterministic random weights. Every tensor has its own PRNG stream seeded from (seed, tensor
 * name), so a tensor's values do not depend on which other tensors or variants are generated:
 * the fp32, fp16 and quantized files of one model all start from the same float32 weights.
 */

/** 32-bit FNV-1a over the UTF-16 code units of `text`. */
function fnv1a(text: string, basis = 0x811c9dc5): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** sfc32: small, fast, and identical on every JS engine (integer arithmetic only). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream: string) {
    this.a = fnv1a(stream, 0x811c9dc5 ^ (seed >>> 0));
    this.b = fnv1a(stream, 0x9e3779b9 ^ Math.imul(seed >>> 0, 0x85ebca6b));
    this.c = fnv1a(`${seed}:${stream}`, 0xc2b2ae35);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [-1, 1). */
  nextSigned(): number {
    return this.nextU32() / 2147483648 - 1;
  }
}

export type Init =
  /** Uniform with the given standard deviation. */
  | { kind: 'random'; std: number }
  /** `center` plus uniform noise of the given standard deviation (norm weights). */
  | { kind: 'around'; center: number; std: number };

const SQRT3 = Math.sqrt(3);

export function randomTensor(seed: number, name: string, size: number, init: Init): Float32Array {
  const rng = new Rng(seed, name);
  const out = new Float32Array(size);
  const amp = init.std * SQRT3;
  const center = init.kind === 'around' ? init.center : 0;
  for (let i = 0; i < size; i++) out[i] = center + amp * rng.nextSigned();
  return out;
}

/** Row-major [rows, cols] -> [cols, rows]. */
export function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = src[base + c]!;
  }
  return out;
}

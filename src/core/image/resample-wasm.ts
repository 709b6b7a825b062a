/**
 * The two resampling kernels of ./resample-kernels.ts in WebAssembly SIMD (128-bit, which V8 runs on
 * any x86-64 with SSE4.1 and on ARM64), assembled here from their instructions: the same 22-bit
 * fixed-point sums, four 32-bit lanes at a time, and the 0..255 clip done by the saturating narrows.
 * Integer arithmetic gives the same bits in any order, so the results equal the JavaScript kernels'
 * (a unit test compares them). Assembled by hand because the module is two small loops, and a
 * toolchain (and a binary in the repository) would be the larger thing to keep.
 *
 * The kernels read and write whole 16-byte vectors: rows they touch need 16 bytes of slack after them.
 */

/** Bytes after each row the kernels may read or write past its end. */
export const ROW_SLACK = 16;

const I32 = 0x7f;
const V128 = 0x7b;

/** Unsigned LEB128. */
function u32(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 (small constants). */
function s32(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function vec(items: number[][]): number[] {
  return [...u32(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...u32(body.length), ...body];
}

function name(text: string): number[] {
  return vec([...text].map((c) => [c.charCodeAt(0)]));
}

// Instructions (https://webassembly.github.io/spec/core/binary/instructions.html).
const get = (i: number): number[] => [0x20, ...u32(i)];
const set = (i: number): number[] => [0x21, ...u32(i)];
const i32Const = (v: number): number[] => [0x41, ...s32(v)];
const i32Load = [0x28, 2, 0];
const ADD = 0x6a;
const MUL = 0x6c;
const LT_S = 0x48;
const simd = (op: number, ...immediates: number[]): number[] => [0xfd, ...u32(op), ...immediates];
const MEMARG = [0, 0]; // alignment hint 1 byte, offset 0
const V128_LOAD = simd(0x00, ...MEMARG);
const LOAD8X8_U = simd(0x02, ...MEMARG);
const V128_STORE = simd(0x0b, ...MEMARG);
const LOAD32_SPLAT = simd(0x09, ...MEMARG);
const STORE32_LANE0 = simd(0x5a, ...MEMARG, 0);
const I32X4_SPLAT = simd(0x11);
const NARROW_I16_U8 = simd(0x66);
const NARROW_I32_I16 = simd(0x85);
const EXTEND_LOW_U8 = simd(0x89);
const EXTEND_HIGH_U8 = simd(0x8a);
const EXTEND_LOW_U16 = simd(0xa9);
const EXTEND_HIGH_U16 = simd(0xaa);
const I32X4_SHR_S = simd(0xac);
const I32X4_ADD = simd(0xae);
const I32X4_MUL = simd(0xb5);
const LOOP = [0x03, 0x40];
const BR_IF = (depth: number): number[] => [0x0d, ...u32(depth)];
const END = 0x0b;

const FIXED_BITS = 22;
const FIXED_HALF = 1 << (FIXED_BITS - 1);

/** acc (local) += widened (on the stack) * k (local). */
function multiplyAdd(acc: number, k: number): number[] {
  return [...get(k), ...I32X4_MUL, ...get(acc), ...I32X4_ADD, ...set(acc)];
}

/** Sums (locals) shifted down by FIXED_BITS, on the stack as i32x4. */
function shifted(acc: number): number[] {
  return [...get(acc), ...i32Const(FIXED_BITS), ...I32X4_SHR_S];
}

/**
 * vertical(bases, weights, n, length, out): for each 16-byte chunk i of the row, out[i..] = clip of
 * HALF + sum over j < n of row(bases[j])[i..] * weights[j], bases being absolute byte addresses.
 */
function verticalBody(): number[] {
  const [bases, weights, n, length, out] = [0, 1, 2, 3, 4];
  const [i, j, a0, a1, a2, a3, k, v] = [5, 6, 7, 8, 9, 10, 11, 12];
  const half = [...i32Const(FIXED_HALF), ...I32X4_SPLAT];
  const tap = [
    ...get(weights), ...get(j), ADD, ...LOAD32_SPLAT, ...set(k),
    ...get(bases), ...get(j), ADD, ...i32Load, ...get(i), ADD, ...V128_LOAD, ...set(v),
    ...get(v), ...EXTEND_LOW_U8, ...EXTEND_LOW_U16, ...multiplyAdd(a0, k),
    ...get(v), ...EXTEND_LOW_U8, ...EXTEND_HIGH_U16, ...multiplyAdd(a1, k),
    ...get(v), ...EXTEND_HIGH_U8, ...EXTEND_LOW_U16, ...multiplyAdd(a2, k),
    ...get(v), ...EXTEND_HIGH_U8, ...EXTEND_HIGH_U16, ...multiplyAdd(a3, k),
    ...get(j), ...i32Const(4), ADD, ...set(j),
    ...get(j), ...get(n), ...i32Const(4), MUL, LT_S, ...BR_IF(0),
  ];
  const body = [
    ...LOOP,
    ...half, ...set(a0), ...half, ...set(a1), ...half, ...set(a2), ...half, ...set(a3),
    ...i32Const(0), ...set(j),
    ...LOOP, ...tap, END,
    ...get(out), ...get(i), ADD,
    ...shifted(a0), ...shifted(a1), ...NARROW_I32_I16, ...shifted(a2), ...shifted(a3), ...NARROW_I32_I16, ...NARROW_I16_U8,
    ...V128_STORE,
    ...get(i), ...i32Const(16), ADD, ...set(i),
    ...get(i), ...get(length), LT_S, ...BR_IF(0),
    END,
    END,
  ];
  return [...vec([[2, I32], [6, V128]]), ...body];
}

/**
 * horizontal(starts, counts, weights, strideBytes, width, channels, out): for each output pixel x,
 * the pixel of `channels` bytes at out + x * channels = clip of HALF + sum over its taps of the source
 * pixel (4 bytes read from starts[x] + j * channels) * weights[x * stride + j].
 */
function horizontalBody(): number[] {
  const [starts, counts, weights, strideBytes, width, channels, out] = [0, 1, 2, 3, 4, 5, 6];
  const [x, p, w, end, acc, t] = [7, 8, 9, 10, 11, 12];
  const tap = [
    ...get(p), ...LOAD8X8_U, ...EXTEND_LOW_U16,
    ...get(w), ...LOAD32_SPLAT, ...I32X4_MUL, ...get(acc), ...I32X4_ADD, ...set(acc),
    ...get(p), ...get(channels), ADD, ...set(p),
    ...get(w), ...i32Const(4), ADD, ...set(w),
    ...get(w), ...get(end), LT_S, ...BR_IF(0),
  ];
  const body = [
    ...LOOP,
    ...i32Const(FIXED_HALF), ...I32X4_SPLAT, ...set(acc),
    ...get(starts), ...i32Load, ...set(p),
    ...get(weights), ...set(w),
    ...get(weights), ...get(counts), ...i32Load, ...i32Const(4), MUL, ADD, ...set(end),
    ...LOOP, ...tap, END,
    ...shifted(acc), ...shifted(acc), ...NARROW_I32_I16, ...set(t),
    ...get(out), ...get(t), ...get(t), ...NARROW_I16_U8, ...STORE32_LANE0,
    ...get(out), ...get(channels), ADD, ...set(out),
    ...get(starts), ...i32Const(4), ADD, ...set(starts),
    ...get(counts), ...i32Const(4), ADD, ...set(counts),
    ...get(weights), ...get(strideBytes), ADD, ...set(weights),
    ...get(x), ...i32Const(1), ADD, ...set(x),
    ...get(x), ...get(width), LT_S, ...BR_IF(0),
    END,
    END,
  ];
  return [...vec([[4, I32], [2, V128]]), ...body];
}

function moduleBytes(): Uint8Array {
  const params = (n: number): number[] => [0x60, ...vec(Array.from({ length: n }, () => [I32])), 0];
  const body = (code: number[]): number[] => [...u32(code.length), ...code];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([params(5), params(7)])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vec([[0], [1]])),
    ...section(7, vec([[...name('vertical'), 0x00, 0], [...name('horizontal'), 0x00, 1]])),
    ...section(10, vec([body(verticalBody()), body(horizontalBody())])),
  ]);
}

/**
 * The part of the WebAssembly JS API used here. Node has it all; its types live in TypeScript's DOM
 * library, which this project does not load, so they are declared for this module only.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmModule {
  readonly kind?: never;
}
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
};

/** The kernels of one instance, working on its own memory. */
export interface WasmKernels {
  memory: WasmMemory;
  vertical(bases: number, weights: number, n: number, length: number, out: number): void;
  horizontal(starts: number, counts: number, weights: number, strideBytes: number, width: number, channels: number, out: number): void;
}

let compiled: WasmModule | null | undefined;

/** The compiled module, or null where this runtime has no WebAssembly SIMD (the JavaScript kernels are used). */
function wasmModule(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = moduleBytes();
    compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return compiled;
}

/** Whether the WebAssembly kernels can run here. */
export function wasmKernelsAvailable(): boolean {
  return wasmModule() !== null;
}

/** A new instance with `bytes` of zeroed memory of its own (rounded up to 64 KiB pages). */
export function instantiateKernels(bytes: number): WasmKernels {
  const module = wasmModule();
  if (!module) throw new Error('WebAssembly SIMD is not available');
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Omit<WasmKernels, 'memory'>;
  return { memory, vertical: exports.vertical, horizontal: exports.horizontal };
}

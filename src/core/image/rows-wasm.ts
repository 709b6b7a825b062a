/**
 * The horizontal and vertical row stages of ./rows.ts on the WebAssembly SIMD kernels: each stage owns
 * an instance whose memory holds its tap tables, its source row (or ring of rows) and its output row;
 * rows come in and go out by copy (a row is a few KiB, the sums over it are the work).
 */
import { instantiateKernels, ROW_SLACK, type WasmKernels } from './resample-wasm.js';
import type { TapTable } from './resample-kernels.js';
import { RowRing, type RowSource } from './rows.js';

/** Lays out regions of one memory: byte offsets, each 16-byte aligned. */
class Layout {
  size = 0;

  take(bytes: number): number {
    const at = this.size;
    this.size += Math.ceil(bytes / 16) * 16;
    return at;
  }
}

function int32At(kernels: WasmKernels, at: number, values: Int32Array): Int32Array {
  const view = new Int32Array(kernels.memory.buffer, at, values.length);
  view.set(values);
  return view;
}

/** HorizontalRows on the SIMD kernel; channels must be at most 4. */
export class WasmHorizontalRows implements RowSource {
  readonly height: number;
  readonly channels: number;
  readonly #source: RowSource;
  readonly #kernels: WasmKernels;
  readonly #starts: number;
  readonly #counts: number;
  readonly #weights: number;
  readonly #strideBytes: number;
  readonly #outAt: number;
  readonly #input: Uint8ClampedArray;
  readonly #output: Uint8ClampedArray;

  constructor(source: RowSource, readonly width: number, taps: TapTable) {
    this.#source = source;
    this.height = source.height;
    const channels = (this.channels = source.channels);
    const layout = new Layout();
    this.#starts = layout.take(width * 4);
    this.#counts = layout.take(width * 4);
    this.#weights = layout.take(taps.weights.length * 4);
    const inAt = layout.take(source.width * channels + ROW_SLACK);
    this.#outAt = layout.take(width * channels + ROW_SLACK);
    const kernels = (this.#kernels = instantiateKernels(layout.size));
    // Each output pixel's first source byte, as an address.
    int32At(kernels, this.#starts, taps.start.map((s) => inAt + s * channels));
    int32At(kernels, this.#counts, taps.count);
    int32At(kernels, this.#weights, taps.weights);
    this.#strideBytes = taps.stride * 4;
    this.#input = new Uint8ClampedArray(kernels.memory.buffer, inAt, source.width * channels);
    this.#output = new Uint8ClampedArray(kernels.memory.buffer, this.#outAt, width * channels);
  }

  readRow(y: number, out: Uint8ClampedArray, at: number): void {
    this.#source.readRow(y, this.#input, 0);
    this.#kernels.horizontal(this.#starts, this.#counts, this.#weights, this.#strideBytes, this.width, this.channels, this.#outAt);
    out.set(this.#output, at);
  }
}

/** VerticalRows on the SIMD kernel: the same ring of source rows, in the instance's memory. */
export class WasmVerticalRows implements RowSource {
  readonly width: number;
  readonly channels: number;
  readonly #kernels: WasmKernels;
  readonly #ring: RowRing;
  readonly #rowLength: number;
  readonly #basesAt: number;
  readonly #weights: number;
  readonly #strideBytes: number;
  readonly #outAt: number;
  readonly #output: Uint8ClampedArray;

  constructor(source: RowSource, readonly height: number, taps: TapTable) {
    this.width = source.width;
    this.channels = source.channels;
    const rowLength = (this.#rowLength = source.width * source.channels);
    // Ring slots are whole 16-byte vectors: the kernel reads the row rounded up.
    const slot = Math.ceil(rowLength / 16) * 16;
    const layout = new Layout();
    this.#weights = layout.take(taps.weights.length * 4);
    this.#basesAt = layout.take(taps.stride * 4);
    const ringAt = layout.take(taps.stride * slot);
    this.#outAt = layout.take(slot);
    const kernels = (this.#kernels = instantiateKernels(layout.size));
    const memory = kernels.memory.buffer;
    int32At(kernels, this.#weights, taps.weights);
    this.#strideBytes = taps.stride * 4;
    const ring = new Uint8ClampedArray(memory, ringAt, taps.stride * slot);
    this.#ring = new RowRing(source, taps, ring, slot, ringAt, new Int32Array(memory, this.#basesAt, taps.stride));
    this.#output = new Uint8ClampedArray(memory, this.#outAt, rowLength);
  }

  readRow(y: number, out: Uint8ClampedArray, at: number): void {
    const n = this.#ring.window(y);
    this.#kernels.vertical(this.#basesAt, this.#weights + y * this.#strideBytes, n, this.#rowLength, this.#outAt);
    out.set(this.#output, at);
  }
}

/**
 * Images as streams of rows, pulled in non-decreasing order through resampling stages, so that a chain
 * of resizes (and the tiling after it) never holds a whole intermediate image: each vertical stage keeps
 * a ring of the few source rows its filter spans, each horizontal stage one source row. Every output
 * sample is computed with exactly the integer arithmetic of a whole-image pass (./resample-kernels.ts),
 * so streaming changes the memory touched (fresh pages are slow to fault in) and nothing else.
 *
 * All row buffers are Uint8ClampedArray: a store clips the fixed-point sum to 0..255 as Pillow does, and
 * one element kind keeps the loads in the hot loops monomorphic.
 */
import { horizontalRow, verticalRow, type TapTable } from './resample-kernels.js';

/** An image that writes its rows on request; rows must be asked for in non-decreasing order. */
export interface RowSource {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** Writes row `y` (width * channels samples) into `out` from index `at`. */
  readRow(y: number, out: Uint8ClampedArray, at: number): void;
}

/** The rows of interleaved 8-bit samples held in memory (random access). */
export class BufferRows implements RowSource {
  readonly #data: Uint8ClampedArray;
  readonly #rowLength: number;

  constructor(
    data: Uint8Array | Uint8ClampedArray,
    readonly width: number,
    readonly height: number,
    readonly channels: number,
  ) {
    this.#data = data instanceof Uint8ClampedArray ? data : new Uint8ClampedArray(data.buffer, data.byteOffset, data.length);
    this.#rowLength = width * channels;
  }

  readRow(y: number, out: Uint8ClampedArray, at: number): void {
    const start = y * this.#rowLength;
    out.set(this.#data.subarray(start, start + this.#rowLength), at);
  }
}

/** One horizontal pass: each row of `source` resampled to `width` samples per row. */
export class HorizontalRows implements RowSource {
  readonly height: number;
  readonly channels: number;
  readonly #source: RowSource;
  readonly #taps: TapTable;
  readonly #input: Uint8ClampedArray;

  constructor(source: RowSource, readonly width: number, taps: TapTable) {
    this.#source = source;
    this.#taps = taps;
    this.height = source.height;
    this.channels = source.channels;
    this.#input = new Uint8ClampedArray(source.width * source.channels);
  }

  readRow(y: number, out: Uint8ClampedArray, at: number): void {
    this.#source.readRow(y, this.#input, 0);
    horizontalRow(this.#input, this.channels, this.width, this.#taps, out, at);
  }
}

/**
 * One vertical pass: output row y is a weighted sum of source rows [start[y], start[y] + count[y]).
 * Both ends never decrease with y and a window is at most `taps.stride` rows, so a ring of `stride`
 * rows holds every window: row r lives in slot r % stride, and is read from the source once.
 */
export class VerticalRows implements RowSource {
  readonly width: number;
  readonly channels: number;
  readonly #source: RowSource;
  readonly #taps: TapTable;
  readonly #ring: Uint8ClampedArray;
  readonly #rowLength: number;
  /** Slot offsets of the current window's rows, and scratch for the vertical kernel. */
  readonly #bases: Int32Array;
  readonly #accumulator: Int32Array;
  /** The next source row not yet in the ring. */
  #next = 0;

  constructor(source: RowSource, readonly height: number, taps: TapTable) {
    this.#source = source;
    this.#taps = taps;
    this.width = source.width;
    this.channels = source.channels;
    this.#rowLength = source.width * source.channels;
    this.#ring = new Uint8ClampedArray(taps.stride * this.#rowLength);
    this.#bases = new Int32Array(taps.stride);
    this.#accumulator = new Int32Array(this.#rowLength);
  }

  readRow(y: number, out: Uint8ClampedArray, at: number): void {
    const taps = this.#taps;
    const first = taps.start[y]!;
    const end = first + taps.count[y]!;
    const slots = taps.stride;
    if (this.#next < first) this.#next = first;
    for (; this.#next < end; this.#next++) this.#source.readRow(this.#next, this.#ring, (this.#next % slots) * this.#rowLength);
    for (let j = 0; j < end - first; j++) this.#bases[j] = ((first + j) % slots) * this.#rowLength;
    verticalRow(this.#ring, this.#bases, taps, y, this.#rowLength, this.#accumulator, out, at);
  }
}

/** Applies an in-place per-row transform (alpha premultiplication and back) to a source's rows. */
export class MappedRows implements RowSource {
  readonly width: number;
  readonly height: number;
  readonly channels: number;

  constructor(
    readonly source: RowSource,
    readonly map: (row: Uint8ClampedArray, from: number, to: number) => void,
  ) {
    this.width = source.width;
    this.height = source.height;
    this.channels = source.channels;
  }

  readRow(y: number, out: Uint8ClampedArray, at: number): void {
    this.source.readRow(y, out, at);
    this.map(out, at, at + this.width * this.channels);
  }
}

/** Pulls every row of `source` into one new buffer. */
export function readAllRows(source: RowSource): Uint8Array {
  const rowLength = source.width * source.channels;
  const data = new Uint8ClampedArray(rowLength * source.height);
  for (let y = 0; y < source.height; y++) source.readRow(y, data, y * rowLength);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/**
 * Passes `source` through, showing every row of it, in order and once, to `onRow`, even rows the
 * consumer skips (they are read and shown, then overwritten). finish() shows the rows after the last
 * one asked for. Lets one stream feed two consumers: the tiles cut from an image and its resized view.
 */
export class TappedRows implements RowSource {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  #next = 0;

  constructor(
    readonly source: RowSource,
    readonly onRow: (row: Uint8ClampedArray, at: number, y: number) => void,
  ) {
    this.width = source.width;
    this.height = source.height;
    this.channels = source.channels;
  }

  readRow(y: number, out: Uint8ClampedArray, at: number): void {
    for (; this.#next <= y; this.#next++) {
      this.source.readRow(this.#next, out, at);
      this.onRow(out, at, this.#next);
    }
  }

  finish(): void {
    if (this.#next >= this.height) return;
    const row = new Uint8ClampedArray(this.width * this.channels);
    this.readRow(this.height - 1, row, 0);
  }
}

/** Pulls every row of `source` in order, handing each to `onRow` in one reused buffer. */
export function forEachRow(source: RowSource, onRow: (row: Uint8ClampedArray, at: number, y: number) => void): void {
  const row = new Uint8ClampedArray(source.width * source.channels);
  for (let y = 0; y < source.height; y++) {
    source.readRow(y, row, 0);
    onRow(row, 0, y);
  }
}

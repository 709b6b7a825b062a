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
 * The source rows a vertical pass reads: output row y is a weighted sum of source rows
 * [start[y], start[y] + count[y]). Both ends never decrease with y and a window is at most
 * `taps.stride` rows, so a ring of `stride` slots holds every window: row r lives in slot r % stride
 * and is read from the source once.
 */
export class RowRing {
  /** The next source row not yet in the ring. */
  #next = 0;

  constructor(
    readonly source: RowSource,
    readonly taps: TapTable,
    /** `stride` slots of `slot` samples each. */
    readonly ring: Uint8ClampedArray,
    readonly slot: number,
    /** Where slot 0 is, for the kernel (0 for JavaScript, a memory address for WebAssembly). */
    readonly address: number,
    /** Filled by window(): where each row of the window is. */
    readonly bases: Int32Array,
  ) {}

  /** Reads the rows output row `y` needs into the ring, sets their `bases`, and returns how many there are. */
  window(y: number): number {
    const first = this.taps.start[y]!;
    const n = this.taps.count[y]!;
    const slots = this.taps.stride;
    if (this.#next < first) this.#next = first;
    for (; this.#next < first + n; this.#next++) this.source.readRow(this.#next, this.ring, (this.#next % slots) * this.slot);
    for (let j = 0; j < n; j++) this.bases[j] = this.address + ((first + j) % slots) * this.slot;
    return n;
  }
}

/** The dimensions of a stage that keeps its source's. */
abstract class SameSizeRows implements RowSource {
  readonly width: number;
  readonly height: number;
  readonly channels: number;

  constructor(readonly source: RowSource) {
    this.width = source.width;
    this.height = source.height;
    this.channels = source.channels;
  }

  abstract readRow(y: number, out: Uint8ClampedArray, at: number): void;
}

/** One vertical pass, in JavaScript. */
export class VerticalRows implements RowSource {
  readonly width: number;
  readonly channels: number;
  readonly #taps: TapTable;
  readonly #ring: RowRing;
  readonly #rowLength: number;
  readonly #accumulator: Int32Array;

  constructor(source: RowSource, readonly height: number, taps: TapTable) {
    this.#taps = taps;
    this.width = source.width;
    this.channels = source.channels;
    const rowLength = (this.#rowLength = source.width * source.channels);
    this.#ring = new RowRing(source, taps, new Uint8ClampedArray(taps.stride * rowLength), rowLength, 0, new Int32Array(taps.stride));
    this.#accumulator = new Int32Array(rowLength);
  }

  readRow(y: number, out: Uint8ClampedArray, at: number): void {
    this.#ring.window(y);
    verticalRow(this.#ring.ring, this.#ring.bases, this.#taps, y, this.#rowLength, this.#accumulator, out, at);
  }
}

/** Applies an in-place per-row transform (alpha premultiplication and back) to a source's rows. */
export class MappedRows extends SameSizeRows {
  constructor(
    source: RowSource,
    readonly map: (row: Uint8ClampedArray, from: number, to: number) => void,
  ) {
    super(source);
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
export class TappedRows extends SameSizeRows {
  #next = 0;

  constructor(
    source: RowSource,
    readonly onRow: (row: Uint8ClampedArray, at: number, y: number) => void,
  ) {
    super(source);
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

/**
 * The key/value cache of several sequences decoded together (generation/scheduler.ts).
 *
 * The decoder reads each `past_key_values.*` as one contiguous `[rows, heads, columns, headDim]` tensor.
 * Copying every sequence's cache into such a tensor per step would move the whole batch cache each
 * token (30 layers x 3 heads x 64 dims x ~900 positions x 4 sequences: ~180 MB for a 13-tile image on
 * 256M), so the batch keeps its own buffers in that layout, with spare columns:
 *
 * - Row r holds its sequence's positions 0..length-1 in columns 0..length-1 (left-aligned, so a column
 *   is its position, as in the one-sequence cache); the columns after a row's length are padding,
 *   masked out by attention_mask (RoPE is already applied to cached keys, so a masked column changes
 *   nothing but the work).
 * - A step's new key/value rows come back as `new_key_values.*` (graph-patch.ts) and are written at
 *   each row's length: no copy of the cache.
 * - The buffers are re-laid out (one copy) only when a row runs out of columns (then `chunk` more
 *   columns), when a sequence with a longer prefix joins, when rows run out, or when the longest
 *   sequence has left and the padding would be more than half the columns.
 *
 * A sequence's KvCache is lent to the batch while it decodes: `add` copies its positions in and frees
 * its own storage, the batch keeps its `length` up to date, and `remove` gives its positions back as
 * the one-sequence cache holds them (`[1, heads, length, headDim]`, with room to grow).
 */
import type * as ort from 'onnxruntime-node';
import { onnxRuntime } from './lazy-modules.js';
import { growCapacity, type KvArray, type KvCache } from './decoder.js';
import type { FloatType } from './runtime.js';

/** The decoder inputs of one batched step. */
export interface BatchStepInputs {
  /** `past_key_values.*` tensors `[rows, heads, columns, headDim]` (views of the buffers). */
  past: Map<string, ort.Tensor>;
  /** `[rows, columns + 1]`: 1 on each row's positions and on the new column, 0 on padding. */
  attentionMask: BigInt64Array;
  /** `[rows, 1]`: each row's own position (its length). */
  positionIds: BigInt64Array;
  columns: number;
}

export interface BatchLayout {
  names: readonly string[];
  heads: number;
  headDim: number;
  type: FloatType;
}

/** Padding columns added whenever a row runs out. */
export const BATCH_COLUMN_CHUNK = 32;

export class BatchKvCache {
  readonly #layout: BatchLayout;
  readonly #maxRows: number;
  readonly #chunk: number;
  /** The sequences' caches by row; each one's `length` is its row's used columns. */
  readonly #rows: KvCache[] = [];
  #buffers = new Map<string, KvArray>();
  #rowCapacity = 0;
  #columns = 0;

  constructor(layout: BatchLayout, maxRows: number, chunk = BATCH_COLUMN_CHUNK) {
    this.#layout = layout;
    this.#maxRows = maxRows;
    this.#chunk = chunk;
  }

  /** The sequences' caches in row order (the order of a step's inputs and logits). */
  get rows(): readonly KvCache[] {
    return this.#rows;
  }

  get size(): number {
    return this.#rows.length;
  }

  /** Columns per row (each row's positions plus padding). */
  get columns(): number {
    return this.#columns;
  }

  has(kv: KvCache): boolean {
    return this.#rows.includes(kv);
  }

  /** Takes a sequence's cache into a new row (its own storage is freed until `remove`). */
  add(kv: KvCache): void {
    if (this.has(kv)) throw new Error('the sequence is already in the batch');
    if (this.#rows.length >= this.#maxRows) throw new Error(`the batch is full (${this.#maxRows} rows)`);
    const rowsNeeded = this.#rows.length + 1;
    const rowCapacity = rowsNeeded > this.#rowCapacity ? Math.min(this.#maxRows, Math.max(2, this.#rowCapacity * 2)) : this.#rowCapacity;
    const columns = kv.length + 1 > this.#columns ? kv.length + 1 + this.#chunk : this.#columns;
    if (rowCapacity !== this.#rowCapacity || columns !== this.#columns) this.#relayout(rowCapacity, columns);
    const { heads, headDim: d } = this.#layout;
    const row = this.#rows.length;
    for (const [name, buffer] of this.#buffers) {
      const source = kv.tensors.get(name)!.data as KvArray;
      for (let h = 0; h < heads; h++) buffer.set(source.subarray(h * kv.length * d, (h + 1) * kv.length * d), this.#offset(row, h));
    }
    this.#rows.push(kv);
    kv.tensors.clear();
    kv.buffers = undefined;
    kv.capacity = 0;
  }

  /**
   * Frees a sequence's row (the last row moves into its place) and, with `giveBack` (the default),
   * gives its positions back to its cache as the one-sequence decoder leaves them; without, the cache
   * keeps only its length (for a finished sequence whose cache nobody reads).
   */
  remove(kv: KvCache, giveBack = true): void {
    const row = this.#rows.indexOf(kv);
    if (row < 0) throw new Error('the sequence is not in the batch');
    if (giveBack) this.#giveBack(kv, row);
    const last = this.#rows.length - 1;
    if (row !== last) {
      const block = this.#layout.heads * this.#columns * this.#layout.headDim;
      for (const buffer of this.#buffers.values()) buffer.copyWithin(row * block, last * block, (last + 1) * block);
      this.#rows[row] = this.#rows[last]!;
    }
    this.#rows.pop();
    this.#shrink();
  }

  /** Copies row `row` into storage of the sequence's own, `[1, heads, length, headDim]` with room to grow. */
  #giveBack(kv: KvCache, row: number): void {
    const { heads, headDim: d, type } = this.#layout;
    const length = kv.length;
    const capacity = growCapacity(length);
    const buffers = new Map<string, KvArray>();
    for (const [name, buffer] of this.#buffers) {
      const own = newKvArray(type, heads * capacity * d);
      for (let h = 0; h < heads; h++) own.set(buffer.subarray(this.#offset(row, h), this.#offset(row, h) + length * d), h * length * d);
      buffers.set(name, own);
    }
    kv.useBuffers(buffers, capacity, type, heads, d);
  }

  /** The inputs of the next step; makes room for its new column first. */
  stepInputs(): BatchStepInputs {
    const longest = Math.max(...this.#rows.map((kv) => kv.length));
    if (longest + 1 > this.#columns) this.#relayout(this.#rowCapacity, longest + 1 + this.#chunk);
    const { heads, headDim: d, type } = this.#layout;
    const rows = this.#rows.length;
    const columns = this.#columns;
    const past = new Map<string, ort.Tensor>();
    for (const [name, buffer] of this.#buffers) {
      past.set(name, new (onnxRuntime().Tensor)(type, buffer.subarray(0, rows * heads * columns * d) as Float32Array, [rows, heads, columns, d]));
    }
    const attentionMask = new BigInt64Array(rows * (columns + 1));
    const positionIds = new BigInt64Array(rows);
    this.#rows.forEach((kv, r) => {
      attentionMask.fill(1n, r * (columns + 1), r * (columns + 1) + kv.length);
      attentionMask[r * (columns + 1) + columns] = 1n;
      positionIds[r] = BigInt(kv.length);
    });
    return { past, attentionMask, positionIds, columns };
  }

  /**
   * Writes a step's new position into every row (at its length) and advances the lengths.
   * `newRows(name)` gives that input's new values `[rows, heads, stride, headDim]`, the new position at
   * column `column` of `stride` (the `new_key_values.*` output: stride 1, column 0).
   */
  append(newRows: (name: string) => KvArray, stride = 1, column = 0): void {
    const { heads, headDim: d } = this.#layout;
    for (const [name, buffer] of this.#buffers) {
      const values = newRows(name);
      this.#rows.forEach((kv, r) => {
        for (let h = 0; h < heads; h++) {
          const from = ((r * heads + h) * stride + column) * d;
          buffer.set(values.subarray(from, from + d), this.#offset(r, h) + kv.length * d);
        }
      });
    }
    for (const kv of this.#rows) kv.length++;
  }

  /** Where row `row`, head `h` starts in a buffer. */
  #offset(row: number, h: number): number {
    return (row * this.#layout.heads + h) * this.#columns * this.#layout.headDim;
  }

  /** After the longest row has left: fewer columns when more than half would be padding. */
  #shrink(): void {
    if (this.#rows.length === 0) {
      this.#buffers = new Map();
      this.#rowCapacity = 0;
      this.#columns = 0;
      return;
    }
    const longest = Math.max(...this.#rows.map((kv) => kv.length));
    if (2 * (longest + 1 + this.#chunk) < this.#columns) this.#relayout(this.#rowCapacity, longest + 1 + this.#chunk);
  }

  /** New buffers with room for `rowCapacity` rows of `columns` columns, the rows copied over. */
  #relayout(rowCapacity: number, columns: number): void {
    const { names, heads, headDim: d, type } = this.#layout;
    const buffers = new Map<string, KvArray>();
    for (const name of names) {
      const buffer = newKvArray(type, rowCapacity * heads * columns * d);
      const old = this.#buffers.get(name);
      if (old) {
        this.#rows.forEach((kv, r) => {
          for (let h = 0; h < heads; h++) {
            const from = this.#offset(r, h);
            buffer.set(old.subarray(from, from + kv.length * d), (r * heads + h) * columns * d);
          }
        });
      }
      buffers.set(name, buffer);
    }
    this.#buffers = buffers;
    this.#rowCapacity = rowCapacity;
    this.#columns = columns;
  }
}

function newKvArray(type: FloatType, length: number): KvArray {
  return type === 'float32' ? new Float32Array(length) : new Uint16Array(length);
}

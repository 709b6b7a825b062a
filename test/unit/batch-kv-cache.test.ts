/**
 * BatchKvCache's layout on made-up values: every row's positions where the decoder reads them, the
 * mask and positions of each step, new positions appended in place, re-layouts when columns run out,
 * and a sequence's cache given back exactly when it leaves.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { BatchKvCache } from '../../src/core/batch-kv-cache.js';
import { KvCache } from '../../src/core/decoder.js';

const NAMES = ['past_key_values.0.key', 'past_key_values.0.value'];
const HEADS = 2;
const D = 3;
const layout = { names: NAMES, heads: HEADS, headDim: D, type: 'float32' as const };

/** The value sequence `s` has at input `n`, head `h`, position `p`, component `j` (exact in float32). */
const value = (s: number, n: number, h: number, p: number, j: number) => ((s * 10 + n) * 10 + h) * 10000 + p * 10 + j;

/** A one-sequence cache of `length` positions, `[1, heads, length, d]` per input. */
function sequenceCache(s: number, length: number): KvCache {
  const tensors = new Map<string, ort.Tensor>();
  NAMES.forEach((name, n) => {
    const data = new Float32Array(HEADS * length * D);
    for (let h = 0; h < HEADS; h++) for (let p = 0; p < length; p++) for (let j = 0; j < D; j++) data[(h * length + p) * D + j] = value(s, n, h, p, j);
    tensors.set(name, new ort.Tensor('float32', data, [1, HEADS, length, D]));
  });
  return new KvCache(tensors, length);
}

/** One step: checks the inputs against each row's sequence, then appends its next position. */
function stepAndCheck(batch: BatchKvCache, ids: Map<KvCache, number>): void {
  const { past, attentionMask, positionIds, columns } = batch.stepInputs();
  const rows = batch.rows;
  rows.forEach((kv, r) => {
    const s = ids.get(kv)!;
    assert.ok(kv.length < columns, 'room for the new position');
    assert.equal(positionIds[r], BigInt(kv.length));
    for (let c = 0; c <= columns; c++) assert.equal(attentionMask[r * (columns + 1) + c], c < kv.length || c === columns ? 1n : 0n, `mask row ${r} column ${c}`);
    NAMES.forEach((name, n) => {
      const tensor = past.get(name)!;
      assert.deepEqual(tensor.dims, [rows.length, HEADS, columns, D]);
      const data = tensor.data as Float32Array;
      for (let h = 0; h < HEADS; h++) for (let p = 0; p < kv.length; p++) for (let j = 0; j < D; j++) assert.equal(data[((r * HEADS + h) * columns + p) * D + j], value(s, n, h, p, j));
    });
  });
  // The decoder's new_key_values: [rows, heads, 1, d] per input.
  batch.append((name) => {
    const n = NAMES.indexOf(name);
    const out = new Float32Array(rows.length * HEADS * D);
    rows.forEach((kv, r) => {
      for (let h = 0; h < HEADS; h++) for (let j = 0; j < D; j++) out[(r * HEADS + h) * D + j] = value(ids.get(kv)!, n, h, kv.length, j);
    });
    return out;
  });
}

function assertOwnCache(kv: KvCache, s: number, length: number): void {
  assert.equal(kv.length, length);
  NAMES.forEach((name, n) => {
    const tensor = kv.tensors.get(name)!;
    assert.deepEqual(tensor.dims, [1, HEADS, length, D]);
    const data = tensor.data as Float32Array;
    for (let h = 0; h < HEADS; h++) for (let p = 0; p < length; p++) for (let j = 0; j < D; j++) assert.equal(data[(h * length + p) * D + j], value(s, n, h, p, j));
  });
  assert.ok(kv.capacity > length && kv.buffers?.size === NAMES.length, 'room to grow as the one-sequence decoder leaves it');
}

describe('BatchKvCache', () => {
  test('rows of different lengths step, grow, leave from the middle and come back as their own caches', () => {
    const batch = new BatchKvCache(layout, 4, 4);
    const caches = [sequenceCache(1, 2), sequenceCache(2, 9), sequenceCache(3, 5)];
    const ids = new Map(caches.map((kv, i) => [kv, i + 1]));
    for (const kv of caches) batch.add(kv);
    assert.equal(batch.size, 3);
    assert.equal(caches[0]!.tensors.size, 0, 'the lent cache frees its own storage');
    const firstColumns = batch.columns;
    for (let step = 0; step < 10; step++) stepAndCheck(batch, ids);
    assert.ok(batch.columns > firstColumns, 'columns grew as rows ran out');
    assert.deepEqual(caches.map((kv) => kv.length), [12, 19, 15]);

    batch.remove(caches[1]!);
    assertOwnCache(caches[1]!, 2, 19);
    assert.deepEqual(batch.rows, [caches[0], caches[2]], 'the last row moved into the freed one');
    const joining = sequenceCache(4, 80);
    ids.set(joining, 4);
    batch.add(joining);
    for (let step = 0; step < 3; step++) stepAndCheck(batch, ids);

    batch.remove(joining);
    assertOwnCache(joining, 4, 83);
    assert.ok(batch.columns < 40, `columns shrink once the longest row left (${batch.columns})`);
    stepAndCheck(batch, ids);
    batch.remove(caches[0]!, false);
    assert.equal(caches[0]!.tensors.size, 0, 'not given back: only the length stays');
    assert.equal(caches[0]!.length, 16);
    batch.remove(caches[2]!);
    assertOwnCache(caches[2]!, 3, 19);
    assert.equal(batch.size, 0);
  });

  test('a full batch and an unknown sequence are programming errors', () => {
    const batch = new BatchKvCache(layout, 1);
    const kv = sequenceCache(1, 3);
    batch.add(kv);
    assert.throws(() => batch.add(sequenceCache(2, 3)), /full/);
    assert.throws(() => batch.add(kv), /already/);
    assert.throws(() => batch.remove(sequenceCache(3, 3)), /not in the batch/);
  });
});

/** The fixture generator writes both kinds of int8 file: full-range (as the official ones) and 7-bit. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { onnx } from '../../proto/onnx.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { reducedInt8Dir } from '../helpers/int8-closeness.js';

/** Largest |weight| over the int8 weight initializers of a file, and how many there are. */
function int8Weights(file: string): { count: number; amax: number } {
  const { graph } = onnx.ModelProto.decode(readFileSync(file));
  const weights = graph!.initializer!.filter((i) => i.dataType === onnx.TensorProto.DataType.INT8 && i.dims!.length > 0);
  const amax = Math.max(...weights.map((w) => Math.max(...Array.from(new Int8Array(w.rawData!.buffer, w.rawData!.byteOffset, w.rawData!.length), Math.abs))));
  return { count: weights.length, amax };
}

test('int8 files use the full [-127, 127] weight range as the official ones, or on request the 7-bit range', async () => {
  const official = await ensureFixtureModel('tiny');
  const reduced = await reducedInt8Dir();
  for (const name of ['vision_encoder', 'decoder_model_merged']) {
    const full = int8Weights(path.join(official, 'onnx', `${name}_int8.onnx`));
    const sevenBit = int8Weights(path.join(reduced, 'onnx', `${name}_int8.onnx`));
    assert.ok(full.count > 0 && sevenBit.count === full.count, `${name}: ${full.count} and ${sevenBit.count} int8 weights`);
    assert.deepEqual([full.amax, sevenBit.amax], [127, 64], name);
  }
});

/**
 * int8 against fp32 on CPUs with and without VNNI (docs/performance.md, "int8 kernels and the default
 * dtype"): the tiny model's int8 files with 7-bit weights, and the check the fixture tests share.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { ALL_DTYPES, ensureFixtureModel, generatedRoot } from '../../scripts/fixture-model/index.js';
import { chooseDefaultDtypes } from '../../src/core/default-dtype.js';
import { detectInt8Kernels } from '../../src/core/int8-kernels.js';

/** `fixtures/generated/int8-reduced/tiny`: the tiny model's int8 files with 7-bit `reduce_range` weights. */
export function reducedInt8Dir(): Promise<string> {
  return ensureFixtureModel('tiny', { root: path.join(generatedRoot, 'int8-reduced'), dtypes: ['int8'], int8Range: 'reduced' });
}

/**
 * 7-bit weights cannot saturate: close everywhere. The official full-range weights (`officialDir`):
 * close where the int8 kernel is exact; where it saturates (x86 without VNNI, or
 * SMOLVLM_INT8_SATURATES=1) they are not checked for closeness, and the default dtype must avoid them.
 */
export async function checkInt8(t: TestContext, limit: number, officialDir: string, errorOf: (modelDir: string) => Promise<number>): Promise<void> {
  const reduced = await errorOf(await reducedInt8Dir());
  assert.ok(reduced < limit, `int8 (reduce_range): relative RMS error ${reduced}`);
  const full = await errorOf(officialDir);
  const kernels = await detectInt8Kernels();
  if (!kernels.saturates) {
    assert.ok(full < limit, `int8: relative RMS error ${full} with int8 kernels ${kernels.summary}`);
    return;
  }
  t.diagnostic(`int8 kernels ${kernels.summary}: full-range int8 relative RMS error ${full.toFixed(3)}, not checked`);
  const all = [...ALL_DTYPES];
  const choice = chooseDefaultDtypes({ vision_encoder: all, embed_tokens: all, decoder_model_merged: all }, true);
  assert.deepEqual(choice.dtypes, { vision_encoder: 'uint8', embed_tokens: 'uint8', decoder_model_merged: 'uint8' });
}

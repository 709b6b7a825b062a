import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { chooseDefaultDtypes, defaultDtypePreference, int8KernelsLine } from '../../src/core/default-dtype.js';
import { resolveModelSource, SmolVLM, type Dtype } from '../../src/index.js';

const OFFICIAL: Dtype[] = ['fp32', 'fp16', 'int8', 'uint8', 'quantized', 'q4', 'q4f16', 'bnb4'];
const every = (dtypes: readonly Dtype[]) => ({ vision_encoder: dtypes, embed_tokens: dtypes, decoder_model_merged: dtypes });
const all = (dtype: Dtype) => ({ vision_encoder: dtype, embed_tokens: dtype, decoder_model_merged: dtype });

describe('chooseDefaultDtypes', () => {
  test('where int8 kernels saturate: uint8 when present, else quantized, else int8', () => {
    const uint8 = chooseDefaultDtypes(every(OFFICIAL), true);
    assert.deepEqual(uint8.dtypes, all('uint8'));
    assert.equal(uint8.reason, 'int8 kernels saturate on this CPU: uint8 preferred over int8');
    assert.deepEqual(chooseDefaultDtypes(every(['fp32', 'int8', 'quantized', 'q4']), true).dtypes, all('quantized'));
    const int8 = chooseDefaultDtypes(every(['fp32', 'int8', 'q4']), true);
    assert.deepEqual(int8.dtypes, all('int8'));
    assert.match(int8.reason, /no uint8 or quantized file: int8 kept/);
    assert.deepEqual(chooseDefaultDtypes(every(['fp32', 'q4']), true).dtypes, all('q4'));
  });

  test('where int8 kernels are exact: int8 first, as before', () => {
    const choice = chooseDefaultDtypes(every(OFFICIAL), false);
    assert.deepEqual(choice.dtypes, all('int8'));
    assert.match(choice.reason, /^int8 kernels are exact on this CPU/);
    assert.deepEqual(chooseDefaultDtypes(every(['fp32', 'uint8']), false).dtypes, all('uint8'));
  });

  test('each session on its own; sessions without a known file are left out', () => {
    const choice = chooseDefaultDtypes({ vision_encoder: ['int8', 'uint8'], embed_tokens: ['int8'], decoder_model_merged: [] }, true);
    assert.deepEqual(choice.dtypes, { vision_encoder: 'uint8', embed_tokens: 'int8' });
  });

  test('an explicit dtype wins, for all sessions or the ones it names', () => {
    const int8 = chooseDefaultDtypes(every(OFFICIAL), true, 'int8');
    assert.deepEqual(int8, { dtypes: all('int8'), reason: 'as requested' });
    const mixed = chooseDefaultDtypes(every(OFFICIAL), true, { decoder_model_merged: 'int8' });
    assert.deepEqual(mixed.dtypes, { vision_encoder: 'uint8', embed_tokens: 'uint8', decoder_model_merged: 'int8' });
  });

  test('the preference lists differ only in where int8 goes', () => {
    const exact = defaultDtypePreference(false);
    const saturating = defaultDtypePreference(true);
    assert.equal(exact[0], 'int8');
    assert.deepEqual(saturating.slice(0, 3), ['uint8', 'quantized', 'int8']);
    assert.deepEqual([...saturating].sort(), [...exact].sort());
  });

  test('one line for `smolvlm version`', () => {
    const line = int8KernelsLine({ saturates: true, source: 'probe', cpu: { name: 'AVX2, no VNNI', saturates: true }, summary: 'saturating (AVX2, no VNNI)' });
    assert.equal(line, 'int8 kernels: saturating (AVX2, no VNNI) → default uint8');
    assert.equal(int8KernelsLine({ saturates: false, source: 'override', summary: 'exact (SMOLVLM_INT8_SATURATES)' }), 'int8 kernels: exact (SMOLVLM_INT8_SATURATES) → default int8');
  });
});

describe('the default dtype when loading', () => {
  let dir: string;
  before(async () => {
    dir = await ensureFixtureModel('tiny');
  });

  /** Runs `body` with SMOLVLM_INT8_SATURATES set, restoring the variable afterwards. */
  async function withSaturation<T>(value: '1' | '0', body: () => Promise<T>): Promise<T> {
    const saved = process.env.SMOLVLM_INT8_SATURATES;
    process.env.SMOLVLM_INT8_SATURATES = value;
    try {
      return await body();
    } finally {
      if (saved === undefined) delete process.env.SMOLVLM_INT8_SATURATES;
      else process.env.SMOLVLM_INT8_SATURATES = saved;
    }
  }

  test('a model directory gets uint8 where int8 kernels saturate and int8 where they are exact; --dtype int8 stays int8', async () => {
    assert.deepEqual((await withSaturation('1', () => resolveModelSource(dir))).dtypes, all('uint8'));
    assert.deepEqual((await withSaturation('0', () => resolveModelSource(dir))).dtypes, all('int8'));
    assert.deepEqual((await withSaturation('1', () => resolveModelSource(dir, { dtype: 'int8' }))).dtypes, all('int8'));
  });

  test('SmolVLM.load without a dtype follows the same choice', async () => {
    const model = await withSaturation('1', () => SmolVLM.load(dir, { cacheDir: false, threads: 1 }));
    assert.deepEqual(model.dtypes, all('uint8'));
  });
});

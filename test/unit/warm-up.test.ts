import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Decoder } from '../../src/core/decoder.js';
import { SmolVLM } from '../../src/index.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';

const request = { messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Tell me about the sea' }] }], maxNewTokens: 8 };

test('a model loaded with warmUp gives the answer one loaded without it gives (fp32, int8, q4)', async () => {
  const dir = await ensureFixtureModel('tiny');
  for (const dtype of ['fp32', 'int8', 'q4'] as const) {
    const cold = await SmolVLM.load(dir, { dtype, threads: 1, warmUp: false });
    const warm = await SmolVLM.load(dir, { dtype, threads: 1, warmUp: true });
    const [a, b] = [await cold.generate(request).result, await warm.generate(request).result];
    assert.deepEqual(b.ids, a.ids, dtype);
    assert.equal(b.text, a.text, dtype);
  }
});

test('warmUp must be a boolean', async () => {
  await assert.rejects(SmolVLM.load('model', { warmUp: 'yes' as never }), (e: { code?: string }) => e.code === 'USAGE' && /warmUp must be true or false/.test(String((e as Error).message)));
});

test('SmolVLM.load warms the decoder up unless told not to', async () => {
  const dir = await ensureFixtureModel('tiny');
  const calls: boolean[] = [];
  const original = Decoder.prototype.warmUp;
  Decoder.prototype.warmUp = async function (this: Decoder) {
    calls.push(true);
    return original.call(this);
  };
  try {
    await SmolVLM.load(dir, { dtype: 'fp32', threads: 1 });
    assert.equal(calls.length, 1, 'warmed up by default');
    await SmolVLM.load(dir, { dtype: 'fp32', threads: 1, warmUp: false });
    assert.equal(calls.length, 1, 'warmUp: false skips it');
  } finally {
    Decoder.prototype.warmUp = original;
  }
});

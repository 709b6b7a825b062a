import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { SmolVLM } from '../../src/index.js';
import { LazyVisionEncoder } from '../../src/core/lazy-vision.js';
import { readModelDirectory } from '../../src/core/model-files/directory.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-lazy-vision-'));
let modelDir: string;
let imageFile: string;

before(async () => {
  modelDir = await ensureFixtureModel('tiny');
  imageFile = path.join(tmp, 'red.png');
  await sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toFile(imageFile);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const text = (t: string) => ({ role: 'user' as const, content: [{ type: 'text' as const, text: t }] });

test('a text-only answer never creates the vision encoder session; the first image does', async () => {
  const model = await SmolVLM.load(modelDir, { dtype: 'fp32', threads: 1 });
  assert.equal(model.vision.loaded, undefined);
  await model.generate({ messages: [text('Hello there')], maxNewTokens: 3 }).result;
  assert.equal(model.vision.loaded, undefined, 'text-only request created the vision session');
  const result = await model.generate({ messages: [{ role: 'user', content: [{ type: 'image', image: imageFile }, { type: 'text', text: 'What is it?' }] }], maxNewTokens: 3 }).result;
  assert.ok(model.vision.loaded, 'an image request did not create the vision session');
  assert.ok(result.usage.imageTokens > 0);
});

test('the answer about an image is the same whether the vision session was made at load or by the request', async () => {
  const request = { messages: [{ role: 'user' as const, content: [{ type: 'image' as const, image: imageFile }, { type: 'text' as const, text: 'Describe it.' }] }], maxNewTokens: 6 };
  const lazy = await SmolVLM.load(modelDir, { dtype: 'fp32', threads: 1 });
  const eager = await SmolVLM.load(modelDir, { dtype: 'fp32', threads: 1 });
  await eager.vision.ready();
  const [a, b] = [await lazy.generate(request).result, await eager.generate(request).result];
  assert.deepEqual(a.ids, b.ids);
});

test('a vision encoder that cannot be created fails the request that needs it, and is tried again next time', async () => {
  const file = path.join(tmp, 'vision_encoder.onnx');
  const vision = new LazyVisionEncoder(file, { threads: 1, cacheDir: false });
  await assert.rejects(vision.encode(new Float32Array(0), 0, 0), (e: { code?: string }) => e.code === 'MODEL_INVALID');
  assert.equal(vision.loaded, undefined);
  copyFileSync(readModelDirectory(modelDir, 'fp32').onnxPaths.vision_encoder, file);
  assert.ok(await vision.ready());
});

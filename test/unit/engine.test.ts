import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { PromptCache, SmolVLM, SmolVLMError, type ChatMessage } from '../../src/index.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { readModelDirectory } from '../../src/core/model-files/directory.js';
import type { Dtype } from '../../src/core/model-files/dtypes.js';
import { readModelSpec } from '../../src/core/model-files/spec.js';

let modelDir: string;
let model: SmolVLM;
let imageFile: string;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-engine-'));

before(async () => {
  modelDir = await ensureFixtureModel('tiny');
  model = await SmolVLM.load(modelDir, { dtype: 'fp32', threads: 1 });
  imageFile = path.join(tmp, 'gradient.png');
  const width = 96;
  const height = 64;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) pixels.set([(i * 7) % 256, (i * 13) % 256, (i * 29) % 256], i * 3);
  await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toFile(imageFile);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('decoder KV cache', () => {
  test('an incremental decode gives the logits of a full recompute', async () => {
    const ids = model.tokenizer.encode('The quick brown fox jumps over the lazy dog, twice.');
    const embeds = await model.embedder.embed(ids);
    const hidden = model.decoder.hiddenSize;
    const full = await model.decoder.forward(embeds, ids.length, model.decoder.emptyCache(), true);
    const vocab = full.length / ids.length;

    const cache = model.decoder.emptyCache();
    const split = 5;
    await model.decoder.forward(embeds.subarray(0, split * hidden), split, cache);
    for (let i = split; i < ids.length; i++) {
      const logits = await model.decoder.forward(embeds.subarray(i * hidden, (i + 1) * hidden), 1, cache);
      assert.ok(maxAbsDiff(logits, full.subarray(i * vocab, (i + 1) * vocab)) < 1e-4, `position ${i}`);
    }
    assert.equal(cache.length, ids.length);
  });

  test('a truncated cache continues exactly like a fresh prefill of the same prefix', async () => {
    const ids = model.tokenizer.encode('one two three four five six seven');
    const embeds = await model.embedder.embed(ids);
    const hidden = model.decoder.hiddenSize;
    const cache = model.decoder.emptyCache();
    await model.decoder.forward(embeds, ids.length, cache);
    const rewound = model.decoder.truncate(cache, 4);
    const a = await model.decoder.forward(embeds.subarray(4 * hidden, 5 * hidden), 1, rewound);
    const fresh = model.decoder.emptyCache();
    const b = (await model.decoder.forward(embeds.subarray(0, 5 * hidden), 5, fresh));
    assert.ok(maxAbsDiff(a, b) < 1e-4);
  });
});

describe('generation', () => {
  const imageTurn = (): ChatMessage[] => [
    { role: 'user', content: [{ type: 'image', image: imageFile }, { type: 'text', text: 'What is this?' }] },
  ];

  test('greedy generation is deterministic and reports usage', async () => {
    const a = await model.generate({ messages: imageTurn(), maxNewTokens: 12 }).result;
    const b = await model.generate({ messages: imageTurn(), maxNewTokens: 12 }).result;
    assert.deepEqual(a.ids, b.ids);
    assert.equal(a.usage.images.length, 1);
    assert.ok(a.usage.imageTokens > 0);
    assert.equal(a.usage.completionTokens, a.ids.length);
    assert.ok(a.timings.firstTokenMs > 0);
  });

  test('sampling with a seed is reproducible', async () => {
    const request = { messages: [{ role: 'user' as const, content: 'Tell me something.' }], maxNewTokens: 16, sampling: { temperature: 1.2, seed: 7 } };
    const a = await model.generate(request).result;
    const b = await model.generate(request).result;
    assert.deepEqual(a.ids, b.ids);
  });

  test('a follow-up turn prefills only its own tokens and answers as a fresh run over the whole conversation', async () => {
    const cache = new PromptCache();
    const first = await model.generate({ messages: imageTurn(), maxNewTokens: 8, cache }).result;
    const conversation: ChatMessage[] = [...imageTurn(), { role: 'assistant', content: first.text.trim() }, { role: 'user', content: 'And the colours?' }];
    const followUp = await model.generate({ messages: conversation, maxNewTokens: 8, cache }).result;
    const fresh = await model.generate({ messages: conversation, maxNewTokens: 8 }).result;
    assert.deepEqual(followUp.ids, fresh.ids);
    // Random weights answer in odd bytes that re-tokenize differently, so at least the first prompt is reused.
    assert.ok(followUp.usage.cachedTokens >= first.usage.promptTokens, `${followUp.usage.cachedTokens} cached`);
    assert.equal(fresh.usage.cachedTokens, 0);
  });

  test('an aborted generation stops early with what it has', async () => {
    const controller = new AbortController();
    let seen = 0;
    const stream = model.generate({
      messages: [{ role: 'user', content: 'Count.' }],
      maxNewTokens: 200,
      signal: controller.signal,
      onToken: () => {
        if (++seen === 3) controller.abort();
      },
    });
    const result = await stream.result;
    assert.equal(result.finishReason, 'aborted');
    assert.equal(result.ids.length, 3);
  });

  test('a prompt longer than the context is refused with CONTEXT_OVERFLOW', async () => {
    const long = 'word '.repeat(model.contextLength + 10);
    await assert.rejects(model.generate({ messages: [{ role: 'user', content: long }] }).result, { code: 'CONTEXT_OVERFLOW' });
  });
});

describe('bad model directories', () => {
  test('a missing ONNX file is named', async () => {
    const dir = path.join(tmp, 'missing');
    cpSync(modelDir, dir, { recursive: true });
    rmSync(path.join(dir, 'onnx', 'embed_tokens.onnx'));
    await assert.rejects(SmolVLM.load(dir, { dtype: 'fp32' }), (e: any) => e.code === 'MODEL_FILE_MISSING' && e.message.includes('onnx/embed_tokens.onnx'));
  });

  test('a corrupt ONNX file is named', async () => {
    const dir = path.join(tmp, 'corrupt');
    cpSync(modelDir, dir, { recursive: true });
    writeFileSync(path.join(dir, 'onnx', 'decoder_model_merged.onnx'), 'not a model');
    await assert.rejects(SmolVLM.load(dir, { dtype: 'fp32' }), (e: any) => e.code === 'MODEL_INVALID' && e.message.includes('decoder_model_merged.onnx'));
  });

  test('a directory that does not exist', async () => {
    await assert.rejects(SmolVLM.load(path.join(tmp, 'nope')), { code: 'MODEL_NOT_FOUND' });
  });

  test('configuration files are checked where they are read; a missing dtype lists the ones present', () => {
    const dir = path.join(tmp, 'configs');
    cpSync(modelDir, dir, { recursive: true });
    const read = () => readModelSpec(readModelDirectory(dir, 'fp32'));
    assert.equal(read().imageTokenId > 0, true);
    writeFileSync(path.join(dir, 'generation_config.json'), '[2]');
    assert.throws(read, (e: SmolVLMError) => e.code === 'MODEL_INVALID' && /generation_config\.json .* is not a JSON object/.test(e.message));
    cpSync(path.join(modelDir, 'generation_config.json'), path.join(dir, 'generation_config.json'));
    const config = JSON.parse(readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, image_token_id: '5', image_token_index: undefined }));
    assert.throws(read, (e: SmolVLMError) => e.code === 'MODEL_INVALID' && e.message.includes('no image_token_id'));
    assert.throws(() => readModelDirectory(dir, { vision_encoder: 'fp64' as Dtype }), { code: 'USAGE' });
    rmSync(path.join(dir, 'onnx', 'vision_encoder_q4.onnx'));
    assert.throws(
      () => readModelDirectory(dir, 'q4'),
      (e: SmolVLMError) => e.code === 'MODEL_FILE_MISSING' && /onnx\/vision_encoder_q4\.onnx \(dtype q4\) is missing .*\(present: fp32, fp16, /.test(e.message),
    );
  });
});

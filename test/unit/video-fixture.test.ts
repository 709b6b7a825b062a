import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { videoProcessorOptionsFromConfig } from '../../src/core/video/index.js';
import { CHAT_TEMPLATE } from '../../scripts/fixture-model/configs.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { skipUnlessShared } from '../helpers/shared.js';
import { smolvlm2ReferenceDir } from '../helpers/video-golden.js';

describe('the tiny-video fixture preset (SmolVLM2-style files)', () => {
  let root: string;
  let dir: string;
  type Json = Record<string, unknown>;
  const readJson = (file: string) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Json;

  before(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-video-fixture-'));
    dir = await ensureFixtureModel('tiny-video', { root, dtypes: ['fp32'] });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('declares video sampling and the SmolVLM architecture', () => {
    const pre = readJson('preprocessor_config.json');
    assert.deepEqual(pre.video_sampling, { fps: 1, max_frames: 64, video_size: { longest_edge: 32 } });
    assert.equal(pre.processor_class, 'SmolVLMProcessor');
    assert.equal(readJson('config.json').model_type, 'smolvlm');
    assert.equal((readJson('config.json').vision_config as Json).model_type, 'smolvlm_vision');
    assert.equal(readJson('processor_config.json').processor_class, 'SmolVLMProcessor');
    assert.equal(readJson('chat_template.json').chat_template, CHAT_TEMPLATE);
    const options = videoProcessorOptionsFromConfig(pre)!;
    assert.deepEqual([options.sampling.fps, options.sampling.maxFrames, options.longestEdge, options.frameSize, options.resample], [1, 64, 32, 32, 'lanczos']);
  });

  test('its preprocessor config has the keys and values of SmolVLM2-256M-Video-Instruct but the sizes', { skip: skipUnlessShared(smolvlm2ReferenceDir) }, () => {
    const theirs = JSON.parse(readFileSync(path.join(smolvlm2ReferenceDir, 'preprocessor_config.json'), 'utf8')) as Json;
    const ours = readJson('preprocessor_config.json');
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort());
    for (const key of Object.keys(theirs)) {
      if (key === 'size' || key === 'max_image_size') continue;
      if (key === 'video_sampling') assert.deepEqual({ ...(ours[key] as Json), video_size: null }, { ...(theirs[key] as Json), video_size: null });
      else assert.deepEqual(ours[key], theirs[key], key);
    }
    // In the real model the frame's first resize goes to the tile size, as here.
    const videoSize = ((theirs.video_sampling as Json).video_size as Json).longest_edge;
    assert.equal(videoSize, (theirs.max_image_size as Json).longest_edge);
    const chat = JSON.parse(readFileSync(path.join(smolvlm2ReferenceDir, 'chat_template.json'), 'utf8')) as { chat_template: string };
    assert.equal(chat.chat_template, CHAT_TEMPLATE);
  });

  test('a model without video_sampling has no video options', () => {
    assert.equal(videoProcessorOptionsFromConfig({ size: { longest_edge: 2048 }, max_image_size: { longest_edge: 512 } }), undefined);
    assert.throws(() => videoProcessorOptionsFromConfig({ video_sampling: { fps: 0 } }), /video_sampling\.fps must be a positive number/);
  });
});

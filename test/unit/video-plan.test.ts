import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Template } from '@huggingface/jinja';
import { TextTokenizer } from '../../src/core/tokenizer.js';
import {
  decodeVideoFrame,
  expandVideoPlaceholders,
  planVideo,
  preprocessVideoFrame,
  VIDEO_CHAT_TEMPLATE,
  videoFramePixels,
  videoProcessorOptionsFromConfig,
  type SampledFrame,
  type VideoBudget,
} from '../../src/core/video/index.js';
import { clipDir, makeClip } from '../helpers/video-clips.js';
import { skipUnlessShared } from '../helpers/shared.js';
import { smolvlm2ReferenceDir } from '../helpers/video-golden.js';

const read = (file: string) => JSON.parse(readFileSync(path.join(smolvlm2ReferenceDir, file), 'utf8')) as object;
const IMAGE_BLOCK = `<fake_token_around_image><global-img>${'<image>'.repeat(64)}<fake_token_around_image>`;

describe('planVideo and videoFramePixels on the SmolVLM2-256M settings', { skip: skipUnlessShared(smolvlm2ReferenceDir) }, () => {
  let clips: ReturnType<typeof clipDir>;
  let clip: string;
  let budget: (contextSize: number) => VideoBudget;
  const processor = () => videoProcessorOptionsFromConfig(read('preprocessor_config.json'))!;

  before(() => {
    clips = clipDir();
    clip = makeClip(clips.dir, { name: 'walk.mp4', rate: '10', seconds: 20 });
    const tokenizer = new TextTokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
    const rendered = new Template(VIDEO_CHAT_TEMPLATE).render({
      messages: [{ role: 'user', content: [{ type: 'video' }, { type: 'text', text: 'What happens?' }] }],
      add_generation_prompt: true,
    });
    budget = (contextSize) => ({
      contextSize,
      reservedTokens: 100,
      countPromptTokens: (frames: readonly SampledFrame[]) =>
        tokenizer.encode(expandVideoPlaceholders(rendered, [{ duration: 20, timestamps: frames.map((f) => f.timestamp) }], IMAGE_BLOCK)).length,
    });
  });
  after(() => clips.dispose());

  test('plans 20 frames at 1 fps, and --fps / --max-frames override the config', async () => {
    const plan = await planVideo(clip, { processor: processor() });
    assert.equal(plan.frames.length, 20);
    assert.deepEqual(plan.prompt.timestamps.slice(0, 3), ['00:00', '00:01', '00:02']);
    const fewer = await planVideo(clip, { processor: processor(), sampling: { fps: 0.5, maxFrames: 4 } });
    assert.deepEqual(fewer.sampling, { fps: 0.5, maxFrames: 4 });
    assert.equal(fewer.frames.length, 4);
  });

  test('refuses a clip over the context before decoding, or fits it', async () => {
    await assert.rejects(planVideo(clip, { processor: processor(), budget: budget(1024), label: 'walk.mp4' }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'CONTEXT_OVERFLOW');
      assert.match(error.message, /^video "walk\.mp4": with 20 frames \(about \d+ per frame\) the prompt takes \d+ tokens.*at most 11 frames would fit$/);
      return true;
    });
    const fitted = await planVideo(clip, { processor: processor(), budget: budget(1024), fit: true });
    assert.equal(fitted.frames.length, 11);
    assert.equal(fitted.reducedFrom, 20);
    assert.equal(fitted.sampling.maxFrames, 11);
    assert.ok(fitted.promptTokens! + 100 <= 1024);
  });

  test('streams each planned frame as one 3 x 512 x 512 global image', async () => {
    const plan = await planVideo(clip, { processor: processor(), sampling: { maxFrames: 3 } });
    const seen: number[] = [];
    for await (const { frame, pixels } of videoFramePixels(plan, processor())) {
      seen.push(frame.index);
      assert.equal(pixels.length, 3 * 512 * 512);
      if (seen.length === 1) assert.deepEqual(pixels, preprocessVideoFrame(await decodeVideoFrame(plan.info, frame.index), processor()));
    }
    assert.deepEqual(seen, plan.frames.map((f) => f.index));
  });
});

/** Video through the library: prompts equal transformers' goldens, generate() on the tiny-video fixture, fit or refuse, chat. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { Conversation, SmolVLM, isConversationVideo, type ChatMessage, type VideoInput, type VideoProgress } from '../../src/index.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { skipUnlessShared } from '../helpers/shared.js';
import { clipDir, makeClip } from '../helpers/video-clips.js';
import { smolvlm2ReferenceDir, videoGolden } from '../helpers/video-golden.js';
import { referenceTokenizerModel, smallContextVideoModel } from '../helpers/video-model.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-video-generate-'));
const clips = clipDir();
let videoModel: SmolVLM;
let clip: string;
let photo: string;

before(async () => {
  videoModel = await SmolVLM.load(await ensureFixtureModel('tiny-video'), { dtype: 'fp32', threads: 1 });
  clip = makeClip(clips.dir, { name: 'five.mp4', rate: '10', seconds: 5 });
  photo = path.join(tmp, 'photo.png');
  await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toFile(photo);
});
after(() => {
  clips.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const ask = (video: VideoInput, text = 'What happens?'): ChatMessage[] => [{ role: 'user', content: [{ type: 'video', video }, { type: 'text', text }] }];

describe('the prompt of a video, through SmolVLM.prepareVideo and tokenize, equals transformers 5.18', { skip: skipUnlessShared(smolvlm2ReferenceDir) }, () => {
  let reference: SmolVLM;
  before(async () => {
    reference = await SmolVLM.load(await referenceTokenizerModel(path.join(tmp, 'reference'), smolvlm2ReferenceDir), { dtype: 'fp32', threads: 1 });
  });

  for (const golden of videoGolden.clips) {
    test(`${golden.clip.name} at ${golden.sampling.fps} fps, at most ${golden.sampling.maxFrames} frames`, async () => {
      const file = path.join(clips.dir, golden.clip.name);
      if (!existsSync(file)) makeClip(clips.dir, golden.clip);
      const video = await reference.prepareVideo(file, golden.sampling);
      assert.deepEqual(video.plan.frames.map((f) => f.index), golden.indices);
      const { ids } = reference.tokenize([{ role: 'user', content: [{ type: 'video', video }, { type: 'text', text: videoGolden.question }] }], []);
      assert.equal(ids.length, golden.promptTokens);
      assert.equal(createHash('sha256').update(reference.tokenizer.decode(ids, false)).digest('hex'), golden.promptSha256);
    });
  }
});

describe('generate() with a video', () => {
  test('{ type: "video" }: one encoder call per frame, progress per frame, the video in usage', async () => {
    const progress: VideoProgress[] = [];
    const stream = videoModel.generate({ messages: ask(clip), maxNewTokens: 3, video: { onProgress: (p) => progress.push(p) } });
    for await (const piece of stream) assert.equal(typeof piece, 'string');
    const { usage, timings } = await stream.result;
    assert.deepEqual(progress.map((p) => p.encoded), [0, 1, 2, 3, 4, 5]);
    assert.equal(usage.videos.length, 1);
    const [video] = usage.videos;
    assert.deepEqual([video!.frames, video!.timestamps, video!.duration], [5, ['00:00', '00:01', '00:02', '00:03', '00:04'], 5]);
    assert.ok(video!.encodeMs > 0 && timings.encodeMs >= video!.encodeMs);
    const prepared = await videoModel.prepareVideo(clip);
    const { ids, prompt } = videoModel.tokenize(ask(prepared), []);
    assert.equal(usage.promptTokens, ids.length);
    assert.equal(prompt, "<|im_start|>User: <video>What happens?<end_of_utterance>\nAssistant:");
    assert.equal(video!.tokens, prepared.tokens);
  });

  test('a video given as an image part, or as bytes, is told apart by its bytes; images and videos mix', async () => {
    const bytes = readFileSync(clip);
    const messages: ChatMessage[] = [
      { role: 'user', content: [{ type: 'image', image: photo }, { type: 'image', image: bytes }, { type: 'text', text: 'Compare.' }] },
    ];
    const { usage } = await videoModel.generate({ messages, maxNewTokens: 2, video: { maxFrames: 2 } }).result;
    assert.deepEqual(usage.images.map((i) => i.label), [photo]);
    assert.deepEqual(usage.videos.map((v) => [v.label, v.frames]), [['video bytes', 2]]);
  });

  test('--fps and --max-frames override the model sampling', async () => {
    const { usage } = await videoModel.generate({ messages: ask(clip), maxNewTokens: 1, video: { fps: 0.5, maxFrames: 64 } }).result;
    // round(0.5 fps x 5 s) = round(2.5) = 2 (Python rounds half to even): the first and the last frame.
    assert.deepEqual(usage.videos[0]!.timestamps, ['00:00', '00:04']);
  });

  test('a model without video_sampling refuses, naming itself and the video models', async () => {
    const plain = await SmolVLM.load(await ensureFixtureModel('tiny'), { dtype: 'fp32', threads: 1 });
    await assert.rejects(plain.generate({ messages: ask(clip), maxNewTokens: 1 }).result, (error: Error & { code?: string }) => {
      assert.equal(error.code, 'VIDEO_UNSUPPORTED');
      assert.match(error.message, /tiny cannot read video .*no video_sampling.*smolvlm2-256m \(HuggingFaceTB\/SmolVLM2-256M-Video-Instruct\) or smolvlm2-500m/);
      return true;
    });
  });
});

describe('a clip that does not fit the context', () => {
  let small: SmolVLM;
  before(async () => {
    small = await SmolVLM.load(await smallContextVideoModel(path.join(tmp, 'small'), 200), { threads: 1 });
  });

  test('is refused with the numbers before any frame is decoded', async () => {
    const progress: VideoProgress[] = [];
    await assert.rejects(small.generate({ messages: ask(clip), maxNewTokens: 100, video: { onProgress: (p) => progress.push(p) } }).result, (error: Error & { code?: string }) => {
      assert.equal(error.code, 'CONTEXT_OVERFLOW');
      assert.match(error.message, /with 5 frames \(about \d+ per frame\) the prompt takes \d+ tokens, and with 100 kept for the answer that exceeds the 200-token context; at most \d frames? would fit/);
      return true;
    });
    assert.deepEqual(progress, []);
  });

  test('with fit, is sampled down and says so', async () => {
    const progress: VideoProgress[] = [];
    const { usage } = await small.generate({ messages: ask(clip), maxNewTokens: 100, video: { fit: true, onProgress: (p) => progress.push(p) } }).result;
    const [video] = usage.videos;
    assert.ok(video!.frames < 5 && video!.frames > 0);
    assert.equal(video!.reducedFrom, 5);
    assert.equal(progress[0]!.reducedFrom, 5);
    assert.ok(usage.promptTokens + 100 <= 200);
  });
});

describe('a conversation about a video', () => {
  test('attach a video, ask twice (the second turn prefills only what it adds), resample with max_frames', async () => {
    const chat = new Conversation(videoModel, { settings: { maxTokens: 2 } });
    const [attached] = await chat.attach([clip]);
    assert.ok(attached && isConversationVideo(attached));
    const first = await chat.ask('What happens?').result;
    assert.equal(first.usage.videos[0]!.frames, 5);
    const second = await chat.ask('And then?').result;
    assert.ok(second.usage.cachedTokens >= first.usage.promptTokens - 1, 'the video is not prefilled again');
    assert.equal(second.usage.videos[0]!.encodeMs, 0, 'nor encoded again');
    chat.updateSettings({ maxFrames: 2 });
    const third = await chat.ask('Shorter?').result;
    assert.equal(third.usage.videos[0]!.frames, 2);
    assert.match(chat.toMarkdown(), /\[video: five\.mp4\]\(<.*five\.mp4>\)/);
    assert.deepEqual(chat.toJSON().messages[0]!.images, [{ source: clip, path: clip }]);
  });
});

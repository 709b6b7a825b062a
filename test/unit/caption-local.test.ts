/**
 * The local captioner on the tiny fixture model: tiles prepared ahead become the same prepared image
 * prepareImage() makes, the request it sends is describe's, the model loads once and only for work,
 * and the engine seam (where a batched scheduler plugs in) gets every caption.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import {
  DESCRIBE_PROMPT,
  SmolVLM,
  captionImages,
  createLocalCaptioner,
  type CaptionEngineFactory,
  type GenerateRequest,
  type ImageOptions,
} from '../../src/index.js';
import { preparePixels } from '../../src/core/caption/prepare.js';
import { drain, makeImages, rejectsWithCode } from '../helpers/caption.js';

let model: SmolVLM;
let root: string;
let images: string[];

before(async () => {
  model = await SmolVLM.load(await ensureFixtureModel('tiny'), { dtype: 'fp32', threads: 1 });
  root = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-caption-local-'));
  images = await makeImages(root, ['a.png', 'b.jpg', 'c.png']);
});
after(() => rm(root, { recursive: true, force: true }));

test('tiles prepared elsewhere with imageProcessorOptions() make the prepared image prepareImage() makes', async () => {
  const bytes = new Uint8Array(await readFile(images[1]!));
  const cases: ImageOptions[] = [{}, { doImageSplitting: false }, { longestEdge: Math.floor(model.processorOptions.longestEdge / 2) }];
  for (const options of cases) {
    const pixels = await preparePixels(bytes, 'b.jpg', { processor: model.imageProcessorOptions(options) });
    const fromTiles = model.preparedImageFromTiles(pixels, pixels.sha256, options, 'b.jpg');
    const direct = await model.prepareImage(bytes, options);
    assert.deepEqual({ ...fromTiles, label: '' }, { ...direct, label: '' }, JSON.stringify(options));
  }
  const whole = await preparePixels(bytes, 'b.jpg', { processor: model.imageProcessorOptions({ doImageSplitting: true }) });
  assert.ok(whole.tileCount > 1, 'the image is split into tiles');
  assert.throws(() => model.preparedImageFromTiles(whole, whole.sha256, { doImageSplitting: false }), /other image options/);
});

/** An engine that records requests and answers through the model. */
function recordingEngine(): { factory: CaptionEngineFactory; requests: GenerateRequest[]; made: number[]; closed: number } {
  const state = { requests: [] as GenerateRequest[], made: [] as number[], closed: 0 };
  const factory: CaptionEngineFactory = (m, options) => {
    state.made.push(options.maxBatch);
    return {
      generate: (request) => {
        state.requests.push(request);
        return m.generate(request);
      },
      close: () => void state.closed++,
    };
  };
  return Object.assign(state, { factory });
}

test('a run: the model loads once, for work only; describe\'s request goes to the engine; captions equal generate()\'s', async () => {
  const engine = recordingEngine();
  let loads = 0;
  const captioner = createLocalCaptioner({
    model: async () => (loads++, model),
    name: 'tiny',
    batch: 2,
    system: 'Be brief.',
    engine: engine.factory,
  });
  const output = path.join(root, 'out.jsonl');
  const settings = { maxTokens: 5, stop: ['zz'], split: false };
  try {
    const results = await drain(captionImages(images, { captioner, settings, output }));
    assert.deepEqual(results.map((r) => r.status), ['done', 'done', 'done']);
    assert.equal(loads, 1);
    assert.deepEqual(engine.made, [2], 'one engine, told the batch size');
    assert.equal(engine.requests.length, 3);
    for (const request of engine.requests) {
      assert.equal(request.maxNewTokens, 5);
      assert.deepEqual(request.stop, ['zz']);
      assert.deepEqual(request.messages[0], { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] });
      const parts = request.messages[1]!.content as { type: string; image?: { prepared?: true; tileCount?: number; label?: string }; text?: string }[];
      assert.equal(parts[0]!.image?.prepared, true);
      // Labelled with its path: made from the reader's tiles (an image decoded from bytes would be "image bytes").
      assert.ok(images.includes(String(parts[0]!.image?.label)), String(parts[0]!.image?.label));
      assert.equal(parts[0]!.image?.tileCount, 1, '--no-split reached the reader');
      assert.deepEqual(parts[1], { type: 'text', text: DESCRIBE_PROMPT });
    }
    for (const result of results) {
      if (result.status !== 'done') continue;
      const expected = await model.generate({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'image', image: result.path }, { type: 'text', text: DESCRIBE_PROMPT }] },
        ],
        maxNewTokens: 5,
        stop: ['zz'],
        image: { doImageSplitting: false },
      }).result;
      assert.equal(result.output.text, expected.text, result.fileName);
      assert.equal(result.output.usage?.imageTokens, expected.usage.imageTokens);
    }
    // A second run over the same output: nothing to do, nothing loaded again, no engine made.
    const again = createLocalCaptioner({ model: async () => (loads++, model), name: 'tiny', engine: engine.factory });
    assert.deepEqual((await drain(captionImages(images, { captioner: again, settings, output }))).map((r) => r.status), ['skipped', 'skipped', 'skipped']);
    assert.equal(loads, 1);
    assert.deepEqual(engine.made, [2]);
  } finally {
    await captioner.close();
  }
  assert.equal(engine.closed, 1, 'close() closes the engine');
});

test('a failing model load stops the run with its error; an aborted caption is ABORTED', async () => {
  const broken = createLocalCaptioner({
    model: async () => {
      throw Object.assign(new Error('x'), { code: 'boom' });
    },
    name: 'broken',
  });
  await assert.rejects(drain(captionImages(images, { captioner: broken, output: path.join(root, 'never.jsonl') })), /x/);
  const captioner = createLocalCaptioner({ model, batch: 1 });
  assert.equal(captioner.model, model.directory.dir, 'named by its directory by default');
  const controller = new AbortController();
  controller.abort();
  const image = { path: images[0]!, bytes: new Uint8Array(await readFile(images[0]!)), format: 'png' as const };
  await rejectsWithCode(captioner.caption({ image, prompt: 'Hi', settings: { maxTokens: 3 }, signal: controller.signal }), 'ABORTED');
  await captioner.close();
});

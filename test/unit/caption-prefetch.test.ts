import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { PrefetchingImageReader, captionImages, preparePixels, type Captioner, type PixelOptions } from '../../src/core/caption/index.js';
import { imageProcessorOptionsFromConfig } from '../../src/core/image/preprocess.js';
import { drain, rejectsWithCode } from '../helpers/caption.js';

let root: string;
let photo: string;
let wide: string;
const pixels: PixelOptions = { processor: imageProcessorOptionsFromConfig({ size: { longest_edge: 128 }, max_image_size: { longest_edge: 64 } }) };

/** A noisy RGB image (so that resampling has something to get wrong). */
async function noisy(file: string, width: number, height: number): Promise<string> {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  await writeFile(file, await sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer());
  return file;
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-caption-prefetch-'));
  photo = await noisy(path.join(root, 'photo.png'), 150, 100);
  wide = await noisy(path.join(root, 'wide.png'), 300, 40);
  await writeFile(path.join(root, 'text.png'), 'hello\n');
});
after(() => rm(root, { recursive: true, force: true }));

test('tiles prepared on the worker equal those prepared on the calling thread, bit for bit', async () => {
  const reader = new PrefetchingImageReader(pixels);
  const inThread = new PrefetchingImageReader({ ...pixels, inThread: true });
  try {
    const signal = new AbortController().signal;
    const [a, b] = await Promise.all([reader.read(photo, signal), reader.read(wide, signal)]);
    for (const [image, file] of [[a, photo], [b, wide]] as const) {
      const expected = await inThread.read(file, signal);
      assert.equal(image.format, 'png');
      assert.deepEqual(Buffer.from(image.bytes), Buffer.from(expected.bytes));
      const { pixelValues, ...meta } = image.pixels!;
      const { pixelValues: expectedValues, ...expectedMeta } = expected.pixels!;
      assert.deepEqual(meta, expectedMeta);
      assert.ok(Buffer.from(pixelValues.buffer).equals(Buffer.from(expectedValues.buffer)));
    }
    // 150 x 100 -> 128 x 86 -> 128 x 128: 2 x 2 tiles + the global view; 300 x 40 -> 128 x 18 -> 128 x 64: 1 x 2 + 1.
    assert.deepEqual([a.pixels!.rows, a.pixels!.cols, a.pixels!.tileCount], [2, 2, 5]);
    assert.deepEqual([b.pixels!.rows, b.pixels!.cols, b.pixels!.tileCount], [1, 2, 3]);
  } finally {
    await reader.close();
  }
});

test('bad images are reported with the image loader\'s errors, and the worker goes on', async () => {
  const reader = new PrefetchingImageReader(pixels);
  const signal = new AbortController().signal;
  try {
    await rejectsWithCode(reader.read(path.join(root, 'text.png'), signal), 'IMAGE_INVALID', /is not a supported image \(it is text/);
    await rejectsWithCode(reader.read(path.join(root, 'missing.png'), signal), 'IMAGE_NOT_FOUND');
    const image = await reader.read(photo, signal);
    assert.equal(image.pixels!.sha256, (await preparePixels(image.bytes, photo, pixels)).sha256);
  } finally {
    await reader.close();
  }
});

test('an abort rejects a pending read at once; close() rejects the rest', async () => {
  const reader = new PrefetchingImageReader(pixels);
  const controller = new AbortController();
  const pending = reader.read(photo, controller.signal);
  controller.abort();
  await rejectsWithCode(pending, 'ABORTED');
  const open = rejectsWithCode(reader.read(wide, new AbortController().signal), 'ABORTED');
  await reader.close();
  await open;
});

test('a run with the prefetching reader hands the captioner prepared tiles', async () => {
  const reader = new PrefetchingImageReader(pixels);
  const seen: number[] = [];
  const captioner: Captioner = {
    model: 'fake/tiles',
    concurrency: 2,
    async caption({ image }) {
      seen.push(image.pixels!.tileCount);
      return { text: `tiles ${image.pixels!.tileCount}`, finishReason: 'eos' };
    },
  };
  try {
    await drain(captionImages([photo, wide], { captioner, prompt: 'x', reader, sidecar: true }));
  } finally {
    await reader.close();
  }
  assert.equal(seen.length, 2);
});

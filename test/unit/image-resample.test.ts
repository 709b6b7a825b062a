import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resizeLanczos, type RawImage } from '../../src/core/image/index.js';

function constant(width: number, height: number, pixel: number[]): RawImage {
  const channels = pixel.length as 3 | 4;
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = pixel[i % channels]!;
  return { width, height, channels, data };
}

function noise(width: number, height: number, channels: 3 | 4, seed = 1): RawImage {
  const data = new Uint8Array(width * height * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, channels, data };
}

describe('resizeLanczos', () => {
  test('a resize to the same size is an independent copy', () => {
    for (const channels of [3, 4] as const) {
      const image = noise(13, 7, channels);
      const out = resizeLanczos(image, 13, 7);
      assert.deepEqual(out, image);
      assert.notEqual(out.data, image.data);
      out.data[0] = out.data[0]! ^ 0xff;
      assert.notEqual(out.data[0], image.data[0]);
    }
  });

  test('a constant image stays constant through up- and downscales', () => {
    const sizes: [number, number][] = [[200, 150], [5, 3], [37, 23], [1, 1], [64, 9], [9, 64], [37, 90]];
    for (const pixel of [[0, 0, 0], [255, 255, 255], [12, 200, 77], [90, 30, 250, 255]]) {
      const image = constant(37, 23, pixel);
      for (const [w, h] of sizes) {
        const out = resizeLanczos(image, w, h);
        assert.equal(out.width, w);
        assert.equal(out.height, h);
        assert.equal(out.channels, image.channels);
        assert.deepEqual(out.data, constant(w, h, pixel).data, `${pixel} -> ${w}x${h}`);
      }
    }
  });

  test('a constant RGBA colour with partial alpha survives the premultiplied round trip within a level', () => {
    const image = constant(20, 10, [200, 100, 50, 128]);
    const out = resizeLanczos(image, 33, 7);
    for (let i = 0; i < out.data.length; i += 4) {
      assert.equal(out.data[i + 3], 128);
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(out.data[i + c]! - image.data[c]!) <= 1);
    }
  });

  test('fully transparent pixels do not bleed their hidden colour into opaque neighbours', () => {
    const image = constant(16, 16, [0, 255, 0, 255]);
    for (let i = 0; i < image.data.length; i += 8) image.data.set([255, 0, 255, 0], i); // every other pixel: hidden magenta
    const out = resizeLanczos(image, 5, 5);
    for (let i = 0; i < out.data.length; i += 4) {
      assert.ok(out.data[i + 3]! > 0);
      assert.equal(out.data[i], 0, 'no red from the transparent magenta');
      assert.equal(out.data[i + 2], 0, 'no blue from the transparent magenta');
    }
  });

  test('one dimension unchanged resizes only along the other', () => {
    const image = noise(24, 10, 3, 7);
    const out = resizeLanczos(image, 24, 31);
    // Every column is resampled independently of its neighbours: changing column 0 leaves column 5 alone.
    const changed = { ...image, data: image.data.slice() };
    for (let y = 0; y < 10; y++) changed.data[y * 24 * 3] = 255 - changed.data[y * 24 * 3]!;
    const out2 = resizeLanczos(changed, 24, 31);
    for (let y = 0; y < 31; y++) {
      for (let c = 0; c < 3; c++) assert.equal(out2.data[(y * 24 + 5) * 3 + c], out.data[(y * 24 + 5) * 3 + c]);
    }
  });

  test('rejects sizes that are not positive integers', () => {
    const image = noise(4, 4, 3);
    assert.throws(() => resizeLanczos(image, 0, 4), RangeError);
    assert.throws(() => resizeLanczos(image, 4, 2.5), RangeError);
  });
});

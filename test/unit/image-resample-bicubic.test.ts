import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { resizeBicubic, resizeLanczos, type RawImage } from '../../src/core/image/index.js';

function noise(width: number, height: number, channels: 3 | 4, seed: number): RawImage {
  const data = new Uint8Array(width * height * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, channels, data };
}

/**
 * SHA-256 of Pillow 12.3.0's `Image.frombytes(mode, (w, h), noise).resize(to, Image.BICUBIC).tobytes()`
 * for the same noise (the LCG above, written the same way in Python): down- and upscales, one- and
 * two-pass, RGB and RGBA (resized premultiplied).
 */
const PILLOW_BICUBIC: { from: [number, number, 3 | 4, number]; to: [number, number]; sha256: string }[] = [
  { from: [37, 23, 3, 1], to: [13, 7], sha256: '6ff3a7c44ba2476737da8fa2199484073a10ebfe902ad349092bd54d4b1561b7' },
  { from: [37, 23, 3, 2], to: [90, 61], sha256: '5289fa10da4bdc52cd130140fe94690896617d6d66fe8cfdb817dd6d954a3abf' },
  { from: [64, 48, 3, 3], to: [32, 32], sha256: '4131cc38ef36f7884ce5ed9a89cc66cb26cb6d4fc9028ecce0cc9dc8b0b67682' },
  { from: [200, 150, 3, 4], to: [64, 48], sha256: 'fa09319123bf9128558274c9a4dd27b517d68b0b2b021df6b094dc78bb7acd9a' },
  { from: [96, 72, 3, 5], to: [512, 384], sha256: '3121553f85ecdf09740b4249d40cef6e706b7b41d5f589fe4c55fd3a599991b1' },
  { from: [33, 64, 4, 6], to: [17, 40], sha256: 'f427a7c1fba5811f6e5741d0c216e590e2e67b1702ab918c2243c940f87cbbae' },
  { from: [5, 9, 3, 7], to: [5, 30], sha256: '5ef5b80d8534489eb9fd980cd900f75df77f4920a3f85388d5cb6271dbee68a0' },
  { from: [300, 7, 3, 8], to: [31, 7], sha256: '8abb58489c10fdffd87a3df72b670f65a9e7df0bd63516956efd68ad3535e430' },
];

describe('resizeBicubic', () => {
  test('is byte-identical to Pillow BICUBIC (antialiased, a = -0.5) on noise', () => {
    for (const c of PILLOW_BICUBIC) {
      const [w, h, channels, seed] = c.from;
      const out = resizeBicubic(noise(w, h, channels, seed), c.to[0], c.to[1]);
      assert.equal(out.width, c.to[0]);
      assert.equal(out.height, c.to[1]);
      assert.equal(createHash('sha256').update(out.data).digest('hex'), c.sha256, `${w}x${h}x${channels} -> ${c.to.join('x')}`);
    }
  });

  test('uses its own kernel, not Lanczos', () => {
    const image = noise(37, 23, 3, 1);
    assert.notDeepEqual(resizeBicubic(image, 13, 7).data, resizeLanczos(image, 13, 7).data);
  });

  test('a constant image stays constant, and bad sizes are refused', () => {
    const image: RawImage = { width: 9, height: 5, channels: 3, data: new Uint8Array(9 * 5 * 3).fill(77) };
    assert.ok(resizeBicubic(image, 20, 3).data.every((v) => v === 77));
    assert.throws(() => resizeBicubic(image, 0, 3), /resizeBicubic: width/);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BICUBIC, LANCZOS, resizeChain, resizeLanczos, type ResampleEngine } from '../../src/core/image/resample.js';
import { wasmKernelsAvailable } from '../../src/core/image/resample-wasm.js';
import type { RawImage } from '../../src/core/image/types.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
}

function noise(width: number, height: number, channels: 3 | 4, random: () => number): RawImage {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = random() & 0xff;
  return { width, height, channels, data };
}

/** Hard edges and flat runs, where the lobes overshoot and the clip to 0..255 matters. */
function blocks(width: number, height: number, channels: 3 | 4): RawImage {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) {
    const pixel = Math.floor(i / channels);
    const x = pixel % width;
    const y = Math.floor(pixel / width);
    data[i] = ((x >> 2) + (y >> 3)) % 2 === 0 ? 255 : 0;
  }
  return { width, height, channels, data };
}

function resize(engine: ResampleEngine, image: RawImage, sizes: [number, number][], bicubic = false): Uint8Array {
  return resizeChain('test', bicubic ? BICUBIC : LANCZOS, image, sizes, engine).data;
}

describe('resampling engines', { skip: wasmKernelsAvailable() ? false : 'no WebAssembly SIMD here' }, () => {
  test('WebAssembly and JavaScript kernels give the same bytes (random sizes, RGB and RGBA, both filters)', () => {
    const random = seeded(7);
    for (let t = 0; t < 120; t++) {
      const channels = t % 2 === 0 ? 3 : 4;
      const image = t % 5 === 0 ? blocks(1 + (random() % 70), 1 + (random() % 70), channels) : noise(1 + (random() % 70), 1 + (random() % 70), channels, random);
      const sizes: [number, number][] = [[1 + (random() % 150), 1 + (random() % 150)], [1 + (random() % 60), 1 + (random() % 60)]];
      const bicubic = t % 3 === 0;
      const label = `${image.width}x${image.height}x${channels} -> ${sizes.join(' -> ')} ${bicubic ? 'bicubic' : 'lanczos'}`;
      assert.deepEqual(resize('wasm', image, sizes, bicubic), resize('js', image, sizes, bicubic), label);
    }
  });

  test('the processor-sized resizes (2x up, 4x down) agree', () => {
    const image = noise(256, 192, 3, seeded(3));
    const sizes: [number, number][] = [[512, 384], [128, 128]];
    assert.deepEqual(resize('wasm', image, sizes), resize('js', image, sizes));
  });
});

describe('resizeChain', () => {
  test('streaming two resizes gives what resizing twice gives', () => {
    const random = seeded(11);
    for (const channels of [3, 4] as const) {
      const image = noise(45, 31, channels, random);
      const once = resizeLanczos(resizeLanczos(image, 90, 62), 20, 20);
      for (const engine of ['js', 'wasm'] as const) {
        if (engine === 'wasm' && !wasmKernelsAvailable()) continue;
        assert.deepEqual(resize(engine, image, [[90, 62], [20, 20]]), once.data, `${channels} channels, ${engine}`);
      }
    }
  });

  test('a size equal to the current one is skipped, and the result is a new image', () => {
    const image = noise(16, 9, 3, seeded(5));
    const out = resizeChain('test', LANCZOS, image, [[16, 9]]);
    assert.deepEqual(out.data, image.data);
    assert.notEqual(out.data.buffer, image.data.buffer);
  });
});

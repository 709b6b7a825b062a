import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import {
  decodeImage,
  imageProcessorOptionsFromConfig,
  longestEdgeSize,
  preprocessImage,
  tileAlignedSize,
  type ImageProcessorOptions,
  type RawImage,
} from '../../src/core/image/index.js';
import { SmolVLMError } from '../../src/core/errors.js';

const SMOLVLM_256M: ImageProcessorOptions = {
  longestEdge: 2048,
  tileSize: 512,
  doImageSplitting: true,
  rescaleFactor: 0.00392156862745098,
  imageMean: [0.5, 0.5, 0.5],
  imageStd: [0.5, 0.5, 0.5],
};
/** Same 4:1 ratio as the real models, 8x fewer pixels per side (fast). */
const SMALL: ImageProcessorOptions = { ...SMOLVLM_256M, longestEdge: 256, tileSize: 64 };

function solid(width: number, height: number, pixel: number[]): RawImage {
  const channels = pixel.length as 3 | 4;
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = pixel[i % channels]!;
  return { width, height, channels, data };
}

function gradient(width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([(x * 7) & 255, (y * 5) & 255, (x + y) & 255], (y * width + x) * 3);
  }
  return { width, height, channels: 3, data };
}

/** The float the processor produces for an 8-bit level with mean = std = 0.5. */
const level = (v: number) => Math.fround(Math.fround(Math.fround(v / 255) - 0.5) / 0.5);

describe('image sizes (the worked examples of ../shared/spec/smolvlm-onnx.md, section 3.3)', () => {
  const cases: { input: [number, number]; L: number; M: number; step1: [number, number]; step2: [number, number] }[] = [
    { input: [1000, 750], L: 2048, M: 512, step1: [2048, 1536], step2: [2048, 1536] },
    { input: [1000, 750], L: 1536, M: 384, step1: [1536, 1152], step2: [1536, 1152] },
    { input: [750, 1000], L: 2048, M: 512, step1: [1536, 2048], step2: [1536, 2048] },
    { input: [1920, 1080], L: 2048, M: 512, step1: [2048, 1152], step2: [2048, 1536] },
    { input: [1600, 1067], L: 2048, M: 512, step1: [2048, 1366], step2: [2048, 1536] },
    { input: [512, 512], L: 2048, M: 512, step1: [2048, 2048], step2: [2048, 2048] },
    { input: [224, 224], L: 2048, M: 512, step1: [2048, 2048], step2: [2048, 2048] },
    { input: [3000, 100], L: 2048, M: 512, step1: [2048, 68], step2: [2048, 512] },
    // conformance-set geometry: int(256 / (1000/700)) = 179 is odd -> 180
    { input: [1000, 700], L: 256, M: 64, step1: [256, 180], step2: [256, 192] },
    { input: [1000, 700], L: 64, M: 64, step1: [64, 44], step2: [64, 64] },
    { input: [300, 1200], L: 256, M: 64, step1: [64, 256], step2: [64, 256] },
  ];
  for (const c of cases) {
    test(`${c.input.join('x')} with L=${c.L}, M=${c.M}`, () => {
      const step1 = longestEdgeSize(c.input[0], c.input[1], c.L);
      assert.deepEqual(step1, c.step1);
      assert.deepEqual(tileAlignedSize(step1[0], step1[1], c.M), c.step2);
    });
  }

  test('extreme aspect ratios never reach a zero side', () => {
    assert.deepEqual(longestEdgeSize(100000, 1, 2048), [2048, 1]);
    assert.deepEqual(longestEdgeSize(1, 100000, 2048), [1, 2048]);
  });
});

describe('preprocessImage', () => {
  const grids: { input: [number, number]; options: ImageProcessorOptions; grid: [number, number]; tiles: number }[] = [
    { input: [125, 94], options: SMALL, grid: [3, 4], tiles: 13 }, // 1000x750 scaled by 1/8
    { input: [94, 125], options: SMALL, grid: [4, 3], tiles: 13 },
    { input: [240, 135], options: SMALL, grid: [3, 4], tiles: 13 }, // 1920x1080
    { input: [64, 64], options: SMALL, grid: [4, 4], tiles: 17 },
    { input: [28, 28], options: SMALL, grid: [4, 4], tiles: 17 }, // small images are upscaled
    { input: [375, 12], options: SMALL, grid: [1, 4], tiles: 5 }, // 3000x100
    { input: [125, 94], options: { ...SMALL, doImageSplitting: false }, grid: [0, 0], tiles: 1 },
    { input: [125, 94], options: { ...SMALL, longestEdge: 64 }, grid: [0, 0], tiles: 1 },
  ];
  for (const g of grids) {
    test(`${g.input.join('x')}, L=${g.options.longestEdge}, split=${g.options.doImageSplitting}: ${g.grid.join('x')} grid`, () => {
      const out = preprocessImage(gradient(g.input[0], g.input[1]), g.options);
      assert.deepEqual([out.rows, out.cols], g.grid);
      assert.equal(out.tileCount, g.tiles);
      assert.equal(out.tileSize, 64);
      assert.equal(out.pixelValues.length, g.tiles * 3 * 64 * 64);
      for (const v of out.pixelValues) assert.ok(v >= -1 && v <= 1);
    });
  }

  test('1000x750 with the real 256M settings: 13 tiles of 512', () => {
    const out = preprocessImage(gradient(1000, 750), SMOLVLM_256M);
    assert.deepEqual([out.rows, out.cols, out.tileCount, out.tileSize], [3, 4, 13, 512]);
    assert.equal(out.pixelValues.length, 13 * 3 * 512 * 512);
    assert.deepEqual(out.sizes, { decoded: [1000, 750], resized: [2048, 1536], resizedForTiles: [2048, 1536] });
  });

  test('no splitting: sizes report the step-1 image and the single M x M tile', () => {
    const out = preprocessImage(gradient(125, 94), { ...SMALL, doImageSplitting: false });
    assert.deepEqual(out.sizes, { decoded: [125, 94], resized: [256, 192], resizedForTiles: [64, 64] });
  });

  test('tiles are exact crops, row-major, channels first (R, G, B), global view last', () => {
    // 256x192 needs no resize at L=256, M=64, so each tile is one 64x64 block of the input.
    const image = solid(256, 192, [0, 0, 0]);
    for (let y = 0; y < 192; y++) {
      for (let x = 0; x < 256; x++) {
        const block = Math.floor(y / 64) * 4 + Math.floor(x / 64);
        image.data.set([block * 10, 200 - block, 255 - block * 3], (y * 256 + x) * 3);
      }
    }
    const out = preprocessImage(image, SMALL);
    assert.deepEqual([out.rows, out.cols, out.tileCount], [3, 4, 13]);
    const plane = 64 * 64;
    for (let t = 0; t < 12; t++) {
      const expected = [t * 10, 200 - t, 255 - t * 3];
      for (let c = 0; c < 3; c++) {
        const start = (t * 3 + c) * plane;
        const values = new Set(out.pixelValues.subarray(start, start + plane));
        assert.deepEqual([...values], [level(expected[c]!)], `tile ${t} channel ${c}`);
      }
    }
    const global = out.pixelValues.subarray(12 * 3 * plane);
    assert.equal(global.length, 3 * plane);
    assert.equal(global[0], level(0), 'global top-left comes from block 0');
    assert.equal(global[plane - 1], level(110), 'global bottom-right comes from block 11');
  });

  test('normalisation maps 0 to -1 and 255 to 1', () => {
    const black = preprocessImage(solid(64, 64, [0, 0, 0]), { ...SMALL, longestEdge: 64 });
    assert.ok(black.pixelValues.every((v) => v === -1));
    const white = preprocessImage(solid(64, 64, [255, 255, 255]), { ...SMALL, longestEdge: 64 });
    assert.ok(white.pixelValues.every((v) => v === 1));
  });

  test('alpha is composited on white after resizing: fully transparent becomes white', async () => {
    // Transparent magenta everywhere except an opaque black square and a half-transparent black square.
    const rgba = solid(96, 72, [255, 0, 255, 0]);
    for (let y = 8; y < 24; y++) for (let x = 8; x < 24; x++) rgba.data.set([0, 0, 0, 255], (y * 96 + x) * 4);
    for (let y = 40; y < 64; y++) for (let x = 56; x < 88; x++) rgba.data.set([0, 0, 0, 128], (y * 96 + x) * 4);
    const png = await sharp(rgba.data, { raw: { width: 96, height: 72, channels: 4 } }).png().toBuffer();
    const decoded = await decodeImage(png);
    assert.equal(decoded.channels, 4);

    const out = preprocessImage(decoded, SMALL); // 96x72 -> 256x192, 3x4 tiles + global
    assert.deepEqual([out.rows, out.cols], [3, 4]);
    const plane = 64 * 64;
    const at = (t: number, c: number, x: number, y: number) => out.pixelValues[(t * 3 + c) * plane + y * 64 + x]!;
    for (let c = 0; c < 3; c++) {
      assert.equal(at(3, c, 40, 10), 1, 'transparent area (top-right tile) is pure white, no magenta');
      assert.equal(at(0, c, 40, 40), level(0), 'opaque black stays black');
      // 128/255 black over white: Pillow's integer alpha_composite gives 127.
      assert.equal(at(10, c, 32, 32), level(127), 'half-transparent black is mid grey');
    }
    // No magenta anywhere: red and blue equal green wherever we look.
    for (let t = 0; t < out.tileCount; t++) {
      for (let i = 0; i < plane; i += 97) {
        assert.equal(out.pixelValues[(t * 3) * plane + i], out.pixelValues[(t * 3 + 1) * plane + i]);
        assert.equal(out.pixelValues[(t * 3 + 2) * plane + i], out.pixelValues[(t * 3 + 1) * plane + i]);
      }
    }
  });

  test('the input image is not modified', () => {
    const image = gradient(100, 75);
    const copy = image.data.slice();
    preprocessImage(image, SMALL);
    preprocessImage({ ...image, width: 100, height: 75 }, { ...SMALL, longestEdge: 100 });
    assert.deepEqual(image.data, copy);
  });
});

describe('imageProcessorOptionsFromConfig', () => {
  test('reads the SmolVLM preprocessor_config.json fields', () => {
    const options = imageProcessorOptionsFromConfig({
      do_image_splitting: true,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
      max_image_size: { longest_edge: 512 },
      rescale_factor: 0.00392156862745098,
      resample: 1,
      size: { longest_edge: 2048 },
    });
    assert.deepEqual(options, SMOLVLM_256M);
  });

  test('do_image_splitting false and other sizes', () => {
    const options = imageProcessorOptionsFromConfig({
      do_image_splitting: false,
      max_image_size: { longest_edge: 384 },
      size: { longest_edge: 1536 },
      image_mean: [0.1, 0.2, 0.3],
      image_std: [0.4, 0.5, 0.6],
    });
    assert.equal(options.doImageSplitting, false);
    assert.equal(options.tileSize, 384);
    assert.equal(options.longestEdge, 1536);
    assert.deepEqual(options.imageMean, [0.1, 0.2, 0.3]);
    assert.deepEqual(options.imageStd, [0.4, 0.5, 0.6]);
  });

  test('invalid values are MODEL_INVALID', () => {
    assert.throws(
      () => imageProcessorOptionsFromConfig({ max_image_size: { longest_edge: 0 } }),
      (e: unknown) => e instanceof SmolVLMError && e.code === 'MODEL_INVALID',
    );
    assert.throws(
      () => imageProcessorOptionsFromConfig({ image_std: [0.5, 0.5] }),
      (e: unknown) => e instanceof SmolVLMError && e.code === 'MODEL_INVALID',
    );
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { decodeImage, imageProcessorOptionsFromConfig, preprocessImage } from '../../src/core/image/index.js';
import { conformanceDir, skipUnlessShared } from '../helpers/shared.js';

interface ContentItem {
  type: string;
  image?: string;
}
interface ImageSizes {
  decoded: [number, number];
  resized: [number, number];
  resized_for_tiles: [number, number];
  tiles: number;
}
interface Case {
  id: string;
  model: string;
  messages: { role: string; content: ContentItem[] }[];
  options: { do_image_splitting: boolean; longest_edge: number | null };
  expected: {
    image_grid: [number, number][];
    image_sizes?: ImageSizes[];
    pixel_values_shape: number[] | null;
    pixel_values_file: string | null;
  };
}
interface Tolerances {
  tile_channel_mean_abs_diff: number;
  tile_channel_std_abs_diff: number;
  tile_mean_abs_error: number;
}

const skip = skipUnlessShared(conformanceDir);
const manifest = skip
  ? { cases: [] as Case[], tolerances: { pixel_values: {} as Tolerances } }
  : (JSON.parse(readFileSync(path.join(conformanceDir, 'cases.json'), 'utf8')) as { cases: Case[]; tolerances: { pixel_values: Tolerances } });
const imageCases = manifest.cases.filter((c) => c.expected.pixel_values_file);

function imagesOf(c: Case): string[] {
  return c.messages.flatMap((m) => m.content.filter((item) => item.type === 'image').map((item) => item.image!));
}

function readFloat32(file: string): Float32Array {
  const bytes = readFileSync(file);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

async function pipeline(c: Case): Promise<{ grid: [number, number][]; sizes: ImageSizes[]; pixels: Float32Array; tileSize: number }> {
  const config = JSON.parse(readFileSync(path.join(conformanceDir, c.model, 'preprocessor_config.json'), 'utf8'));
  const options = imageProcessorOptionsFromConfig(config);
  options.doImageSplitting = c.options.do_image_splitting;
  if (c.options.longest_edge !== null) options.longestEdge = c.options.longest_edge;
  const grid: [number, number][] = [];
  const sizes: ImageSizes[] = [];
  const parts: Float32Array[] = [];
  for (const image of imagesOf(c)) {
    const raw = await decodeImage(readFileSync(path.join(conformanceDir, image)), { label: image });
    const processed = preprocessImage(raw, options);
    grid.push([processed.rows, processed.cols]);
    sizes.push({
      decoded: processed.sizes.decoded,
      resized: processed.sizes.resized,
      resized_for_tiles: processed.sizes.resizedForTiles,
      tiles: processed.tileCount,
    });
    parts.push(processed.pixelValues);
  }
  const pixels = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    pixels.set(p, offset);
    offset += p.length;
  }
  return { grid, sizes, pixels, tileSize: options.tileSize };
}

/** Per tile and channel: mean and population std; per tile: mean absolute error against the reference. */
function checkTolerances(ours: Float32Array, ref: Float32Array, tileSize: number, tol: Tolerances): string[] {
  const plane = tileSize * tileSize;
  const tiles = ref.length / (3 * plane);
  const failures: string[] = [];
  for (let t = 0; t < tiles; t++) {
    let absErr = 0;
    for (let ch = 0; ch < 3; ch++) {
      const start = (t * 3 + ch) * plane;
      let sa = 0;
      let sb = 0;
      let qa = 0;
      let qb = 0;
      for (let i = start; i < start + plane; i++) {
        const a = ours[i]!;
        const b = ref[i]!;
        sa += a;
        sb += b;
        qa += a * a;
        qb += b * b;
        absErr += Math.abs(a - b);
      }
      const ma = sa / plane;
      const mb = sb / plane;
      const sda = Math.sqrt(Math.max(0, qa / plane - ma * ma));
      const sdb = Math.sqrt(Math.max(0, qb / plane - mb * mb));
      if (Math.abs(ma - mb) > tol.tile_channel_mean_abs_diff) failures.push(`tile ${t} channel ${ch}: mean ${ma} vs ${mb}`);
      if (Math.abs(sda - sdb) > tol.tile_channel_std_abs_diff) failures.push(`tile ${t} channel ${ch}: std ${sda} vs ${sdb}`);
    }
    const mae = absErr / (3 * plane);
    if (mae > tol.tile_mean_abs_error) failures.push(`tile ${t}: mean abs error ${mae}`);
  }
  return failures;
}

describe('conformance: pixel values', { skip }, () => {
  for (const c of imageCases) {
    test(c.id, async () => {
      const { grid, sizes, pixels, tileSize } = await pipeline(c);
      assert.deepEqual(grid, c.expected.image_grid, 'tile grid');
      if (c.expected.image_sizes) assert.deepEqual(sizes, c.expected.image_sizes, 'image sizes');
      const shape = c.expected.pixel_values_shape!;
      assert.equal(pixels.length, shape.reduce((a, b) => a * b, 1), `pixel count for shape [${shape.join(', ')}]`);
      assert.equal(shape[3], tileSize);

      const ref = readFloat32(path.join(conformanceDir, c.expected.pixel_values_file!));
      const failures = checkTolerances(pixels, ref, tileSize, manifest.tolerances.pixel_values);
      assert.deepEqual(failures, [], 'within the conformance tolerances');

      let differing = 0;
      for (let i = 0; i < ref.length; i++) if (pixels[i] !== ref[i]) differing++;
      // The conformance set only promises the tolerances above, but Pillow's resampler, its premultiplied
      // RGBA round trip and alpha_composite are all reproduced exactly, so every case (RGBA included) is exact.
      assert.equal(differing, 0, `${differing} of ${ref.length} floats differ from the reference`);
    });
  }
});

/** Test images made at run time: photo-like smooth gradients with noise, encoded as JPEG by sharp. */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { seededRandom } from '../../src/core/generation/sampling.js';

/** RGB pixels: a sky-to-ground gradient, a few soft blobs, and per-pixel noise. */
export function photoPixels(width: number, height: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const blobs = Array.from({ length: 6 }, () => ({
    x: random() * width,
    y: random() * height,
    r: (0.08 + random() * 0.2) * Math.min(width, height),
    color: [random() * 255, random() * 255, random() * 255],
  }));
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const v = y / height;
    for (let x = 0; x < width; x++) {
      const u = x / width;
      let r = 90 + 120 * (1 - v) + 20 * Math.sin(u * 6);
      let g = 130 + 80 * (1 - v) - 40 * v * u;
      let b = 200 * (1 - v) + 60 * v;
      for (const blob of blobs) {
        const d2 = ((x - blob.x) ** 2 + (y - blob.y) ** 2) / (blob.r * blob.r);
        const w = Math.exp(-d2);
        r += w * (blob.color[0]! - r);
        g += w * (blob.color[1]! - g);
        b += w * (blob.color[2]! - b);
      }
      const noise = (random() - 0.5) * 24;
      const i = (y * width + x) * 3;
      out[i] = Math.max(0, Math.min(255, Math.round(r + noise)));
      out[i + 1] = Math.max(0, Math.min(255, Math.round(g + noise)));
      out[i + 2] = Math.max(0, Math.min(255, Math.round(b + noise)));
    }
  }
  return out;
}

/** Writes `name` (a JPEG of width x height) into `dir` unless it is there; returns its path. */
export async function ensureTestImage(dir: string, name: string, width: number, height: number, seed: number): Promise<string> {
  const file = path.join(dir, name);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  await sharp(photoPixels(width, height, seed), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toFile(file);
  return file;
}

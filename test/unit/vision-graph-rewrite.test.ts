/**
 * The vision encoder rewrite (fused attention, GELU and patch embedding) gives the original graph's
 * features: float32 within 1e-5 (relative to the largest feature), the quantized files within the
 * tolerances their tests use, with and without masked patches; graphs it does not know are left alone.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { readModelOutline } from '../../src/core/onnx-file.js';
import { createOptimizedSession } from '../../src/core/optimized-graph-cache.js';
import { VISION_REWRITE, writeFusedVisionEncoder } from '../../src/core/vision-graph-rewrite.js';
import { conformanceDir } from '../helpers/shared.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-vision-rewrite-'));
let tinyDir: string;
const conformanceModel = path.join(conformanceDir, 'models', 'tiny-a');

before(async () => {
  tinyDir = await ensureFixtureModel('tiny');
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const visionFile = (dir: string, dtype: string) => path.join(dir, 'onnx', `vision_encoder${dtype === 'fp32' ? '' : `_${dtype}`}.onnx`);

function opCounts(file: string): Map<string, number> {
  const outline = readModelOutline(file);
  outline.file.close();
  const counts = new Map<string, number>();
  for (const node of outline.nodes) counts.set(node.opType, (counts.get(node.opType) ?? 0) + 1);
  return counts;
}

/** Pixels for `tiles` tiles and a mask that, when `masked`, hides the right third of the last tile. */
function inputs(session: ort.InferenceSession, tiles: number, masked: boolean): Record<string, ort.Tensor> {
  const meta = session.inputMetadata as readonly { name: string; shape?: readonly (number | string)[] }[];
  const size = meta.find((m) => m.name === 'pixel_values')!.shape!.at(-1) as number;
  const pixels = Float32Array.from({ length: tiles * 3 * size * size }, (_, i) => Math.sin(i * 0.013) * 0.9);
  const mask = new Uint8Array(tiles * size * size).fill(1);
  if (masked) for (let y = 0; y < size; y++) mask.fill(0, (tiles - 1) * size * size + y * size + Math.ceil((2 * size) / 3), (tiles - 1) * size * size + (y + 1) * size);
  return {
    pixel_values: new ort.Tensor('float32', pixels, [1, tiles, 3, size, size]),
    pixel_attention_mask: new ort.Tensor('bool', mask, [1, tiles, size, size]),
  };
}

async function features(file: string, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  return (await session.run(feeds)).image_features!.data as Float32Array;
}

/** Largest difference relative to the largest reference value. */
function relativeMax(a: Float32Array, ref: Float32Array): number {
  assert.equal(a.length, ref.length);
  let diff = 0;
  let peak = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - ref[i]!));
    peak = Math.max(peak, Math.abs(ref[i]!));
  }
  return diff / peak;
}

function relativeRms(a: Float32Array, ref: Float32Array): number {
  let err = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    err += (a[i]! - ref[i]!) ** 2;
    norm += ref[i]! ** 2;
  }
  return Math.sqrt(err / norm);
}

/** The fp32 limit of this test and the quantized files' limits of fixture-model.test.ts (relative RMS against fp32). */
const LIMITS: Record<string, number> = { int8: 0.1, uint8: 0.1, q4: 0.3 };

async function checkModel(name: string, dir: () => string, dtypes: readonly string[]): Promise<void> {
  for (const dtype of dtypes) {
    test(`${name} ${dtype}: fused attention, GELU (and patch embedding) give the original features`, async () => {
      const source = visionFile(dir(), dtype);
      const target = path.join(tmp, `${name}-${dtype}.onnx`);
      assert.equal(writeFusedVisionEncoder(source, target), undefined);
      const before = opCounts(source);
      const after = opCounts(target);
      assert.equal(after.get('MultiHeadAttention') ?? 0, 0, 'the fused nodes are inside If branches');
      assert.equal(after.get('If'), before.get('Softmax'));
      assert.equal(after.get('FastGelu'), before.get('Tanh'));
      assert.equal(after.get('Softmax') ?? 0, 0);
      assert.equal(after.get('ConvInteger') ?? 0, 0);
      const probe = await ort.InferenceSession.create(source);
      for (const masked of [false, true]) {
        const feeds = inputs(probe, 3, masked);
        const original = await features(source, feeds);
        const fused = await features(target, feeds);
        if (dtype === 'fp32') {
          assert.ok(relativeMax(fused, original) < 1e-5, `${masked ? 'masked' : 'unmasked'}: ${relativeMax(fused, original)}`);
        } else {
          const fp32 = await features(visionFile(dir(), 'fp32'), feeds);
          const [was, is] = [relativeRms(original, fp32), relativeRms(fused, fp32)];
          assert.ok(is < LIMITS[dtype]!, `${masked ? 'masked' : 'unmasked'}: relative RMS error ${is} against fp32 (the original: ${was})`);
          assert.ok(relativeRms(fused, original) < LIMITS[dtype]!, `against the original ${dtype}: ${relativeRms(fused, original)}`);
        }
      }
    });
  }
}

describe('vision graph rewrite', () => {
  checkModel('tiny', () => tinyDir, ['fp32', 'int8', 'uint8', 'q4']);
  if (existsSync(conformanceModel)) checkModel('conformance tiny-a', () => conformanceModel, ['fp32', 'int8', 'q4']);

  test('graphs without the patterns, and float16 encoders, are left alone (nothing written)', () => {
    for (const file of [
      visionFile(tinyDir, 'fp16'),
      visionFile(tinyDir, 'q4f16'),
      path.join(tinyDir, 'onnx', 'decoder_model_merged.onnx'),
      path.join(tinyDir, 'onnx', 'embed_tokens.onnx'),
    ]) {
      const target = path.join(tmp, `untouched-${path.basename(file)}`);
      const why = writeFusedVisionEncoder(file, target);
      assert.equal(typeof why, 'string', file);
      assert.equal(existsSync(target), false, file);
    }
    assert.match(writeFusedVisionEncoder(path.join(tmp, 'missing.onnx'), path.join(tmp, 'never.onnx'))!, /cannot read/);
  });

  test('through the optimized-graph cache: rewritten once, the saved graph gives the same features', async () => {
    const source = visionFile(tinyDir, 'fp32');
    const cacheDir = path.join(tmp, 'cache');
    const options = { cacheDir, rewrite: VISION_REWRITE, intraOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
    const first = await createOptimizedSession(source, options);
    assert.equal(first.rewritten, true);
    const second = await createOptimizedSession(source, options);
    assert.equal(second.rewritten, true);
    assert.ok(second.loadedFrom.startsWith(cacheDir), second.loadedFrom);
    assert.ok(readdirSync(cacheDir).some((name) => name.endsWith('.onnx.json')));
    for (const masked of [false, true]) {
      const feeds = inputs(first.session, 2, masked);
      const original = await features(source, feeds);
      const a = (await first.session.run(feeds)).image_features!.data as Float32Array;
      const b = (await second.session.run(feeds)).image_features!.data as Float32Array;
      assert.ok(relativeMax(a, original) < 1e-5 && relativeMax(b, original) < 1e-5, `${relativeMax(a, original)} ${relativeMax(b, original)}`);
    }
  });
});

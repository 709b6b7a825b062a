/**
 * Vision encoder time per tile, side by side in one process (A B A B ...):
 *   A  the original file with default session options (what transformers.js runs: onnxruntime-node,
 *      CPU provider, graphOptimizationLevel 'all', onnxruntime's default threads);
 *   B  ours: VisionEncoder.load (the fused rewrite, vision-graph-rewrite.ts, through a fresh
 *      optimized-graph cache), the same tiles in one call.
 * Also the features' difference (largest, relative to the largest feature; and relative RMS), and the
 * process CPU time per call (steadier than wall time on a shared machine).
 *
 *   node --import tsx scripts/bench-vision.ts [--model fixtures/generated/bench/256m] [--dtype int8,fp32,q4]
 *     [--tiles 1,13] [--runs 5] [--threads N]
 *
 * The model is the one `npm run bench` generates (real SmolVLM-256M dimensions, random weights).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { repoRoot } from './fixture-model/index.js';
import { VisionEncoder } from '../src/core/encoders.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(repoRoot, 'fixtures', 'generated', 'bench', '256m') },
    dtype: { type: 'string', default: 'int8,fp32,q4' },
    tiles: { type: 'string', default: '1,13' },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string' },
  },
});

type Run = (pixels: Float32Array, tiles: number, size: number) => Promise<Float32Array>;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function difference(a: Float32Array, ref: Float32Array): { max: number; rms: number } {
  let diff = 0;
  let peak = 0;
  let err = 0;
  let norm = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(a[i]! - ref[i]!);
    diff = Math.max(diff, d);
    peak = Math.max(peak, Math.abs(ref[i]!));
    err += d * d;
    norm += ref[i]! ** 2;
  }
  return { max: diff / peak, rms: Math.sqrt(err / norm) };
}

async function timed(run: Run, pixels: Float32Array, tiles: number, size: number): Promise<{ wall: number; cpu: number; out: Float32Array }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const out = await run(pixels, tiles, size);
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1000, out };
}

async function benchDtype(dtype: string, tileCounts: number[], runs: number, threads: number | undefined): Promise<string[]> {
  const file = path.join(args.model, 'onnx', `vision_encoder${dtype === 'fp32' ? '' : `_${dtype}`}.onnx`);
  const original = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads } : {}) });
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-bench-vision-'));
  try {
    const ours = await VisionEncoder.load(file, { cacheDir, ...(threads ? { threads } : {}) });
    const size = ours.tileSize;
    const runA: Run = async (pixels, tiles) => {
      const feeds = {
        pixel_values: new ort.Tensor('float32', pixels, [1, tiles, 3, size, size]),
        pixel_attention_mask: new ort.Tensor('bool', new Uint8Array(tiles * size * size).fill(1), [1, tiles, size, size]),
      };
      return (await original.run(feeds)).image_features!.data as Float32Array;
    };
    const runB: Run = (pixels, tiles) => ours.encode(pixels, tiles, size, 0);
    const rows: string[] = [];
    for (const tiles of tileCounts) {
      const pixels = Float32Array.from({ length: tiles * 3 * size * size }, (_, i) => Math.sin(i * 0.0137) * 0.9);
      const a = await timed(runA, pixels, tiles, size); // warm-up, and the reference features
      const b = await timed(runB, pixels, tiles, size);
      const walls: [number[], number[]] = [[], []];
      const cpus: [number[], number[]] = [[], []];
      for (let r = 0; r < runs; r++) {
        for (const [i, run] of [runA, runB].entries()) {
          const t = await timed(run, pixels, tiles, size);
          walls[i]!.push(t.wall / tiles);
          cpus[i]!.push(t.cpu / tiles);
        }
      }
      const d = difference(b.out, a.out);
      const [wa, wb, ca, cb] = [median(walls[0]), median(walls[1]), median(cpus[0]), median(cpus[1])];
      rows.push(
        `| ${dtype} | ${tiles} | ${wa.toFixed(0)} | ${wb.toFixed(0)} | ${(wb / wa).toFixed(3)} | ${(cb / ca).toFixed(3)} | ${d.max.toExponential(1)} | ${d.rms.toExponential(1)} |`,
      );
      console.error(`${dtype} ${tiles} tiles: A ${walls[0].map((x) => x.toFixed(0)).join(' ')} | B ${walls[1].map((x) => x.toFixed(0)).join(' ')}`);
    }
    await original.release();
    await ours.session.release();
    return rows;
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

const tileCounts = args.tiles.split(',').map(Number);
const runs = Number(args.runs);
const threads = args.threads ? Number(args.threads) : undefined;
console.log(`vision encoder per tile, medians of ${runs} (A = original file, default options; B = ours), ${os.cpus()[0]?.model ?? ''}`);
console.log('| dtype | tiles | A ms/tile | B ms/tile | B/A wall | B/A cpu | max diff / max | rel RMS |');
console.log('|---|---|---|---|---|---|---|---|');
for (const dtype of args.dtype.split(',')) for (const row of await benchDtype(dtype, tileCounts, runs, threads)) console.log(row);

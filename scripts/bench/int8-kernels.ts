/**
 * Speed and error of the 8-bit and 4-bit variants against fp32 on this CPU (docs/performance.md,
 * "int8 kernels and the default dtype"): the vision encoder on one 512x512 tile and one decoder step
 * after a 64-token prompt, in bare onnxruntime on the preset's random-weight files. Prints a Markdown
 * table of medians (min-max) and the relative RMS error of the outputs against fp32.
 *
 *   node --import tsx scripts/bench/int8-kernels.ts [--preset 256m] [--runs 5] [--threads 2]
 *     [--dtypes int8,uint8,q4[,int8-7bit]] [--parts vision,decoder]
 *
 * `--runs 0` measures the error only (one run each, untimed: for emulated CPUs).
 *
 * `int8-7bit` is the int8 file with onnxruntime's 7-bit reduce_range weights (another generated model).
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { ensureFixtureModel, isPresetName, repoRoot, type Dtype } from '../fixture-model/index.js';
import { detectInt8Kernels } from '../../src/core/int8-kernels.js';

const { values: args } = parseArgs({
  options: {
    preset: { type: 'string', default: '256m' },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: String(Math.min(4, os.availableParallelism())) },
    dtypes: { type: 'string', default: 'int8,uint8,q4' },
    parts: { type: 'string', default: 'vision,decoder' },
  },
});
const VARIANTS = ['int8', 'uint8', 'quantized', 'q4', 'int8-7bit'] as const;
type Variant = 'fp32' | (typeof VARIANTS)[number];
const variants = args.dtypes.split(',').filter(Boolean) as Variant[];
for (const v of variants) if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`--dtypes: one of ${VARIANTS.join(', ')}, got ${v}`);
if (!isPresetName(args.preset)) throw new Error(`unknown preset ${args.preset}`);
const preset = args.preset;
const runs = Number(args.runs);
const parts = args.parts.split(',').filter(Boolean);
if (!Number.isInteger(runs) || runs < 0) throw new Error(`--runs: an integer >= 0, got ${args.runs}`);
const threads = Number(args.threads);
const log = (message: string) => process.stderr.write(`${message}\n`);

const root = path.join(repoRoot, 'fixtures', 'generated', 'bench-int8');
const official = ['fp32', ...variants.filter((v) => v !== 'int8-7bit')] as Dtype[];
const modelDir = await ensureFixtureModel(preset, { root, dtypes: official, onProgress: (m) => log(`  ${preset}: ${m}`) });
const reducedDir = variants.includes('int8-7bit')
  ? await ensureFixtureModel(preset, { root: `${root}-7bit`, dtypes: ['int8'], int8Range: 'reduced', onProgress: (m) => log(`  ${preset} 7-bit: ${m}`) })
  : modelDir;
const fileOf = (session: string, v: Variant) =>
  v === 'int8-7bit' ? path.join(reducedDir, 'onnx', `${session}_int8.onnx`) : path.join(modelDir, 'onnx', `${session}${v === 'fp32' ? '' : `_${v}`}.onnx`);

interface Measured {
  ms: number[];
  output: Float32Array;
}

/** Runs `feeds()` once to warm up, then `runs` timed times; keeps the last output. */
async function timeRuns(session: ort.InferenceSession, feeds: () => Promise<ort.InferenceSession.FeedsType>, output: string): Promise<Measured> {
  const ms: number[] = [];
  let last: ort.Tensor | undefined;
  for (let i = 0; i <= runs; i++) {
    const f = await feeds();
    const t = performance.now();
    last = (await session.run(f))[output];
    if (i > 0) ms.push(performance.now() - t);
    if (runs === 0) break;
  }
  return { ms, output: Float32Array.from(last!.data as Float32Array) };
}

const dimsOf = (session: ort.InferenceSession, name: string) =>
  (session.inputMetadata.find((m) => m.name === name) as { shape: readonly (number | string)[] }).shape;

async function visionEncoder(session: ort.InferenceSession): Promise<Measured> {
  const size = dimsOf(session, 'pixel_values')[3] as number;
  const pixels = Float32Array.from({ length: 3 * size * size }, (_, i) => Math.sin(i * 0.37) * 0.9);
  const feeds = async () => ({
    pixel_values: new ort.Tensor('float32', pixels, [1, 1, 3, size, size]),
    pixel_attention_mask: new ort.Tensor('bool', new Uint8Array(size * size).fill(1), [1, 1, size, size]),
  });
  return timeRuns(session, feeds, 'image_features');
}

/** One decoder step (1 token) after a 64-token prompt, whose KV cache is computed once and reused. */
async function decoderStep(session: ort.InferenceSession): Promise<Measured> {
  const hidden = dimsOf(session, 'inputs_embeds')[2] as number;
  const [, heads, , headDim] = dimsOf(session, 'past_key_values.0.key') as number[];
  const layers = session.inputNames.filter((n) => n.endsWith('.key')).length;
  const prompt = 64;
  const embeds = (n: number, offset: number) => new ort.Tensor('float32', Float32Array.from({ length: n * hidden }, (_, i) => Math.sin((offset * hidden + i) * 0.11)), [1, n, hidden]);
  const ids = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [1, values.length]);
  const past: Record<string, ort.Tensor> = {};
  for (let i = 0; i < layers; i++) {
    for (const kind of ['key', 'value']) past[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, heads!, 0, headDim!]);
  }
  const prefill = await session.run({
    inputs_embeds: embeds(prompt, 0),
    attention_mask: ids(new Array(prompt).fill(1)),
    position_ids: ids(Array.from({ length: prompt }, (_, i) => i)),
    ...past,
  });
  const cache: Record<string, ort.Tensor> = {};
  for (let i = 0; i < layers; i++) for (const kind of ['key', 'value']) cache[`past_key_values.${i}.${kind}`] = prefill[`present.${i}.${kind}`]!;
  const feeds = async () => ({ inputs_embeds: embeds(1, prompt), attention_mask: ids(new Array(prompt + 1).fill(1)), position_ids: ids([prompt]), ...cache });
  return timeRuns(session, feeds, 'logits');
}

function relativeRms(actual: Float32Array, expected: Float32Array): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    err += (actual[i]! - expected[i]!) ** 2;
    ref += expected[i]! ** 2;
  }
  return Math.sqrt(err / ref);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const kernels = await detectInt8Kernels();
const rows: string[] = [];
const PARTS = [['vision', 'vision_encoder', visionEncoder], ['decoder', 'decoder_model_merged', decoderStep]] as const;
for (const [, session, measure] of PARTS.filter(([part]) => parts.includes(part))) {
  let reference: Float32Array | undefined;
  for (const v of ['fp32', ...variants] as Variant[]) {
    log(`${session} ${v}...`);
    const s = await ort.InferenceSession.create(fileOf(session, v), { graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1 });
    const m = await measure(s);
    await s.release();
    reference ??= m.output;
    const error = v === 'fp32' ? '0' : relativeRms(m.output, reference).toFixed(4);
    const label = session === 'vision_encoder' ? 'vision encoder, 1 tile' : 'decoder step (64 cached)';
    const time = m.ms.length === 0 ? '-' : `${median(m.ms).toFixed(1)} (${Math.min(...m.ms).toFixed(1)}-${Math.max(...m.ms).toFixed(1)})`;
    rows.push(`| ${label} | ${v} | ${time} | ${error} |`);
  }
}

console.log(`${os.cpus()[0]?.model ?? 'unknown CPU'}, ${threads} threads, onnxruntime ${ort.env.versions.node}; int8 kernels ${kernels.summary}`);
console.log(`${preset} preset (random weights), ${runs === 0 ? 'error only' : `${runs} runs after a warm-up`}\n`);
console.log('| part | dtype | median ms (min-max) | relative RMS error vs fp32 |');
console.log('| --- | --- | --- | --- |');
for (const row of rows) console.log(row);

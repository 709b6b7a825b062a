/**
 * Batched decoding (BatchScheduler) on a preset with the real dimensions and random weights:
 *
 * 1. aggregate decode tokens/s of 1, 2, 4, ... concurrent text streams (maxBatch = streams), from the
 *    first stream's first token to the last stream's end, per wall-clock second (best of --rounds) and
 *    per CPU-second of the process (steadier on a shared machine): what DEFAULT_MAX_BATCH is chosen from;
 * 2. how often batching changes a greedy answer (int8 files quantize activations per decoder call, so
 *    a batch shares one scale), over `--agreement` prompts decoded 4 at a time against one at a time.
 *
 *   node --import tsx scripts/bench-batch.ts [--preset 256m] [--dtype int8] [--streams 1,2,4,8] [--tokens 64]
 *     [--agreement 16] [--rounds 3] [--threads N]
 *
 * The model is the one `npm run bench` generates (fixtures/generated/bench/, fp32 + int8 + q4).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureFixtureModel, repoRoot } from './fixture-model/index.js';
import type { PresetName } from './fixture-model/presets.js';
import { ensureTestImage } from './bench/images.js';
import { BatchScheduler, SmolVLM, type Dtype, type GenerateRequest, type GenerationResult } from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    preset: { type: 'string', default: '256m' },
    dtype: { type: 'string', default: 'int8' },
    streams: { type: 'string', default: '1,2,4,8' },
    tokens: { type: 'string', default: '64' },
    agreement: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string' },
  },
});
const log = (message: string) => process.stderr.write(`${message}\n`);
const tokens = Number(args.tokens);

const modelDir = await ensureFixtureModel(args.preset as PresetName, {
  root: path.join(repoRoot, 'fixtures', 'generated', 'bench'),
  dtypes: ['fp32', 'int8', 'q4'],
  onProgress: (m) => log(`  generating ${args.preset}: ${m}`),
});
const model = await SmolVLM.load(modelDir, { dtype: args.dtype as Dtype, ...(args.threads ? { threads: Number(args.threads) } : {}) });

const TOPICS = ['a lighthouse', 'the sea', 'a winter night', 'a message in a bottle', 'a city at dawn', 'a mountain lake', 'an old library', 'a train journey'];
const textRequest = (i: number): GenerateRequest => ({
  messages: [{ role: 'user', content: `Write a short story about ${TOPICS[i % TOPICS.length]}${i >= TOPICS.length ? ' and a cat' : ''}.` }],
  maxNewTokens: tokens,
});

/** The first text request whose greedy answer runs to maxNewTokens (random weights often end early). */
async function fullLengthRequest(): Promise<GenerateRequest> {
  for (let i = 0; i < 2 * TOPICS.length; i++) {
    if ((await model.generate(textRequest(i)).result).finishReason === 'length') return textRequest(i);
  }
  throw new Error(`no prompt runs to ${tokens} tokens`);
}

interface Throughput {
  /** Tokens after each stream's first, per wall-clock second from the first first token to the end. */
  wall: number;
  /** The same per CPU-second of this process (all threads): the work per token, less disturbed by a busy machine. */
  cpu: number;
  tokens: number;
}

/** `streams` copies of `request` at once (the same prompt, so every row decodes to the same length). */
async function aggregate(request: GenerateRequest, streams: number): Promise<Throughput> {
  const scheduler = new BatchScheduler(model, { maxBatch: streams, maxPreparing: streams });
  let started = 0;
  let cpuStart = process.cpuUsage();
  const onToken = () => {
    if (started) return;
    started = performance.now();
    cpuStart = process.cpuUsage();
  };
  const results = await Promise.all(Array.from({ length: streams }, () => scheduler.generate({ ...request, onToken }).result));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const decoded = results.reduce((n, r) => n + r.ids.length - 1, 0);
  return { wall: decoded / seconds, cpu: decoded / ((cpu.user + cpu.system) / 1e6), tokens: decoded };
}

/** Each stream count `rounds` times, interleaved; the best wall time and the median CPU time of each. */
async function throughputTable(request: GenerateRequest, counts: readonly number[], rounds: number): Promise<string[]> {
  const runs = new Map<number, Throughput[]>(counts.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) for (const n of counts) runs.get(n)!.push(await aggregate(request, n));
  const best = (n: number) => Math.max(...runs.get(n)!.map((r) => r.wall));
  const medianCpu = (n: number) => runs.get(n)!.map((r) => r.cpu).sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
  return counts.map((n) => `| ${n} | ${best(n).toFixed(1)} | ${(best(n) / best(counts[0]!)).toFixed(2)}x | ${medianCpu(n).toFixed(1)} | ${(medianCpu(n) / medianCpu(counts[0]!)).toFixed(2)}x | ${runs.get(n)![0]!.tokens} |`);
}

/** Greedy answers one at a time and four at a time: how many differ. */
async function agreement(count: number): Promise<{ differ: number; firstDifference: number[] }> {
  const image = await ensureTestImage(path.join(repoRoot, 'bench-results', 'images'), 'photo_1024x768.jpg', 1024, 768, 1);
  const requests = Array.from({ length: count }, (_, i): GenerateRequest => {
    if (i % 4 !== 3) return textRequest(i);
    const question = ['Describe this image.', 'What colours stand out?', 'What is in the sky?', 'Write a caption.'][(i >> 2) % 4]!;
    return { messages: [{ role: 'user', content: [{ type: 'image', image }, { type: 'text', text: question }] }], maxNewTokens: tokens, image: { doImageSplitting: false } };
  });
  const alone: GenerationResult[] = [];
  for (const request of requests) alone.push(await model.generate(request).result);
  const scheduler = new BatchScheduler(model, { maxBatch: 4, maxPreparing: 4 });
  const batched: GenerationResult[] = [];
  for (let i = 0; i < count; i += 4) batched.push(...(await Promise.all(requests.slice(i, i + 4).map((r) => scheduler.generate(r).result))));
  const firstDifference = batched.map((r, i) => r.ids.findIndex((id, at) => id !== alone[i]!.ids[at]));
  const differ = batched.filter((r, i) => r.ids.join() !== alone[i]!.ids.join()).length;
  return { differ, firstDifference: firstDifference.filter((at) => at >= 0) };
}

const cpu = execFileSync('lscpu', { encoding: 'utf8' }).match(/^Model name:\s*(.+)$/m)?.[1] ?? os.cpus()[0]?.model ?? 'unknown CPU';
const setting = `${args.preset} preset ${args.dtype}, ${tokens} new tokens per stream; ${cpu}, ${os.availableParallelism()} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}`;
log(setting);
const request = await fullLengthRequest(); // also the warm-up
const rows = await throughputTable(request, args.streams.split(',').map(Number), Number(args.rounds));
console.log(`Batched decoding, ${setting}; best of ${args.rounds} (wall), median (CPU)\n`);
console.log('| streams (= maxBatch) | aggregate decode tokens/s | vs 1 | tokens per CPU-second | vs 1 | tokens |\n|---|---|---|---|---|---|');
console.log(rows.join('\n'));
const count = Number(args.agreement);
if (count > 0) {
  const { differ, firstDifference } = await agreement(count);
  console.log(`\nGreedy answers changed by batching (4 at a time vs alone), ${args.dtype}: ${differ} of ${count}` + (firstDifference.length ? ` (first differing token at ${firstDifference.join(', ')})` : ''));
}

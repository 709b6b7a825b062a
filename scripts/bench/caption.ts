/**
 * The caption scenario of `npm run bench` (`npm run bench -- --scenarios caption`): images per minute
 * over 16 photo-like images of mixed sizes, each caption exactly `--tokens` long, for
 *   (a) caption:  captionImages() with the local captioner (what `smolvlm caption` runs),
 *   (b) describe: our generate() over the same images one after another in one process,
 *   (c) theirs:   a transformers.js loop (processor, then generate) on the same files,
 * with and without image splitting, and each one's peak RSS. Every measurement is a fresh child
 * process (child-caption.ts), timed from after the model load; engines alternate within each run.
 *
 * Targets (issue 12): caption >= 1.4x describe without splitting, >= 1.1x with; >= 2x transformers.js
 * in both; caption's peak RSS below 1.5x describe's.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../fixture-model/index.js';
import type { CaptionChildResult, CaptionMode, CaptionTask } from './child-caption.js';
import { ensureTestImage } from './images.js';
import { stat, type Stat } from './report.js';

/** Width x height of the 16 images: phone and camera photos, portraits, screenshots, thumbnails. */
export const CAPTION_IMAGE_SIZES: readonly (readonly [number, number])[] = [
  [1024, 768], [768, 1024], [640, 480], [1920, 1080], [512, 512], [300, 200], [2048, 1536], [800, 600],
  [1200, 800], [256, 256], [1080, 1920], [400, 300], [1600, 1200], [720, 720], [960, 540], [350, 500],
];

export interface CaptionBenchOptions {
  modelDir: string;
  dtype: string;
  runs: number;
  newTokens: number;
  /** How many of the 16 sizes to use (fewer for a quick run). */
  images: number;
  /** caption's batch (default: the library's). */
  batch?: number;
  modes: readonly CaptionMode[];
  out: string;
  log: (message: string) => void;
}

const PROMPT = 'Can you describe this image?';
const TITLES: Record<CaptionMode, string> = { caption: '(a) caption', describe: '(b) describe loop', theirs: '(c) transformers.js loop' };

function runChild(task: CaptionTask, env: NodeJS.ProcessEnv): Promise<CaptionChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'scripts', 'bench', 'child-caption.ts'), JSON.stringify(task)], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(readFileSync(task.resultFile, 'utf8')) as CaptionChildResult);
        rmSync(task.resultFile, { force: true });
      } catch {
        resolve({ mode: task.mode, split: task.split, loadMs: 0, ms: 0, imagesPerMinute: 0, rssAfterLoadMB: 0, peakRssMB: 0, tokens: [], error: `exit ${code}: ${stderr}` });
      }
    });
  });
}

const fmt = (s: Stat | undefined, digits = 1) => (s === undefined ? '–' : s.n === 1 ? s.median.toFixed(digits) : `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`);
const ratio = (a: Stat | undefined, b: Stat | undefined) => (a && b && b.median > 0 ? `${(a.median / b.median).toFixed(2)}x` : '–');

/** The Markdown table: per splitting mode, images/min and peak RSS per engine, and caption's ratios. */
export function captionTable(results: readonly CaptionChildResult[], modes: readonly CaptionMode[]): string {
  const header = ['splitting', ...modes.flatMap((m) => [`${TITLES[m]} images/min`, `${TITLES[m]} peak RSS MB`]), 'caption / describe', 'caption / transformers.js', 'RSS caption / describe'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const split of [false, true]) {
    const of = (mode: CaptionMode) => results.filter((r) => !r.error && r.mode === mode && r.split === split);
    const rate = (mode: CaptionMode) => stat(of(mode).map((r) => r.imagesPerMinute));
    const rss = (mode: CaptionMode) => stat(of(mode).map((r) => r.peakRssMB));
    const cells = modes.flatMap((m) => [fmt(rate(m)), fmt(rss(m), 0)]);
    lines.push(`| ${split ? 'split' : '--no-split'} | ${cells.join(' | ')} | ${ratio(rate('caption'), rate('describe'))} | ${ratio(rate('caption'), rate('theirs'))} | ${ratio(rss('caption'), rss('describe'))} |`);
  }
  return lines.join('\n');
}

export async function runCaptionBench(options: CaptionBenchOptions): Promise<void> {
  const { log } = options;
  const imageDir = path.join(options.out, 'images', 'caption');
  const images: string[] = [];
  for (const [i, [width, height]] of CAPTION_IMAGE_SIZES.slice(0, options.images).entries()) {
    images.push(await ensureTestImage(imageDir, `photo_${String(i).padStart(2, '0')}_${width}x${height}.jpg`, width, height, 100 + i));
  }
  const modelCache = path.join(options.out, 'model-cache');
  const env = { ...process.env, SMOLVLM_CACHE: modelCache };
  const started = Date.now();
  const results: CaptionChildResult[] = [];
  const base = { modelDir: options.modelDir, dtype: options.dtype, images, newTokens: options.newTokens, prompt: PROMPT, ...(options.batch ? { batch: options.batch } : {}) };
  // Our engine prepares model files once per machine: an untimed run fills the bench's model cache first.
  await runChild({ ...base, mode: 'describe', images: images.slice(0, 1), newTokens: 1, split: false, resultFile: path.join(os.tmpdir(), `smolvlm-caption-bench-${process.pid}-warm.json`) }, env);
  const total = options.runs * 2 * options.modes.length;
  for (let run = 0; run < options.runs; run++) {
    for (const split of [false, true]) {
      const order = options.modes.map((_, i) => options.modes[(i + run) % options.modes.length]!);
      for (const mode of order) {
        const result = await runChild({ ...base, mode, split, resultFile: path.join(os.tmpdir(), `smolvlm-caption-bench-${process.pid}-${results.length}.json`) }, env);
        results.push(result);
        const detail = result.error
          ? `ERROR ${result.error.split('\n').slice(0, 3).join(' | ')}`
          : `${result.imagesPerMinute.toFixed(1)} images/min (${(result.ms / 1000).toFixed(1)} s, ${result.tokens.join('+')} tokens), load ${result.loadMs.toFixed(0)} ms, peak RSS ${result.peakRssMB.toFixed(0)} MB`;
        log(`[${results.length}/${total}] run ${run + 1} ${split ? 'split' : 'no-split'} ${mode}: ${detail}`);
      }
    }
  }
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg()[0]!.toFixed(1)}, Node ${process.version}`;
  const legend =
    `caption scenario: ${path.basename(options.modelDir)} preset (random weights, real dimensions), ${options.dtype}, ${images.length} images of mixed sizes, ` +
    `${options.newTokens} new tokens each, caption batch ${options.batch ?? 'default'}, ${options.runs} run(s), medians (min–max). ${machine}. ${minutes} min.`;
  const table = captionTable(results, options.modes);
  console.log(`\n${legend}\n\n${table}\n`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(path.join(options.out, `bench-caption-${stamp}.json`), JSON.stringify({ date: new Date().toISOString(), machine, options: { ...options, log: undefined }, results }, null, 1));
  writeFileSync(path.join(options.out, `bench-caption-${stamp}.md`), `${legend}\n\n${table}\n`);
  log(`wrote bench-results/bench-caption-${stamp}.md and .json`);
}

/**
 * Caption benchmark child: one way of captioning a list of images, in a fresh process, timed from
 * after the model load to the last caption. `node --import tsx scripts/bench/child-caption.ts <task json>`
 *
 *   caption:  captionImages() with the local captioner, as `smolvlm caption` runs it
 *   describe: our model.generate() over the images one after another, as `describe` does
 *   theirs:   a transformers.js loop on the same files (processor, then generate)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { currentRssMB, peakRssMB } from './common.js';

export type CaptionMode = 'caption' | 'describe' | 'theirs';

export interface CaptionTask {
  mode: CaptionMode;
  modelDir: string;
  dtype: string;
  images: string[];
  split: boolean;
  newTokens: number;
  prompt: string;
  /** caption only: images captioned together (default: the library's). */
  batch?: number;
  resultFile: string;
}

export interface CaptionChildResult {
  mode: CaptionMode;
  split: boolean;
  loadMs: number;
  /** From after the load to the last caption. */
  ms: number;
  imagesPerMinute: number;
  rssAfterLoadMB: number;
  peakRssMB: number;
  /** Generated tokens per image (every engine is made to generate exactly newTokens). */
  tokens: number[];
  error?: string;
}

type Timed = { loadMs: number; ms: number; tokens: number[] };

/** Our model with the end-of-sequence tokens switched off: every caption is newTokens long, as with transformers.js's min_new_tokens. */
async function loadOurs(task: CaptionTask) {
  const library = await import('../../src/index.js');
  const started = performance.now();
  const model = await library.SmolVLM.load(task.modelDir, { dtype: task.dtype as never });
  (model.spec as { eosTokenIds: readonly number[] }).eosTokenIds = [];
  return { library, model, loadMs: performance.now() - started };
}

async function runCaption(task: CaptionTask): Promise<Timed> {
  const { library, model, loadMs } = await loadOurs(task);
  const captioner = library.createLocalCaptioner({ model, ...(task.batch !== undefined ? { batch: task.batch } : {}) });
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-bench-caption-'));
  const tokens: number[] = [];
  const started = performance.now();
  try {
    const run = library.captionImages(task.images, {
      captioner,
      prompt: task.prompt,
      settings: { maxTokens: task.newTokens, split: task.split },
      output: path.join(scratch, 'out.jsonl'),
    });
    for await (const result of run) {
      if (result.status === 'failed') throw new Error(`${result.path}: ${result.error.message}`);
      if (result.status === 'done') tokens.push(result.output.usage?.completionTokens ?? 0);
    }
    return { loadMs, ms: performance.now() - started, tokens };
  } finally {
    await captioner.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function runDescribe(task: CaptionTask): Promise<Timed> {
  const { model, loadMs } = await loadOurs(task);
  const tokens: number[] = [];
  const started = performance.now();
  for (const image of task.images) {
    const result = await model.generate({
      messages: [{ role: 'user', content: [{ type: 'image', image }, { type: 'text', text: task.prompt }] }],
      maxNewTokens: task.newTokens,
      image: { doImageSplitting: task.split },
    }).result;
    tokens.push(result.usage.completionTokens);
  }
  return { loadMs, ms: performance.now() - started, tokens };
}

async function runTheirs(task: CaptionTask): Promise<Timed> {
  const { AutoModelForVision2Seq, AutoProcessor, env, RawImage } = await import('@huggingface/transformers');
  env.localModelPath = `${path.dirname(task.modelDir)}${path.sep}`;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  const id = path.basename(task.modelDir);
  const loadStarted = performance.now();
  const processor = await AutoProcessor.from_pretrained(id);
  const model = await AutoModelForVision2Seq.from_pretrained(id, { dtype: task.dtype as never });
  const loadMs = performance.now() - loadStarted;
  const text = processor.apply_chat_template([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: task.prompt }] }] as never, {
    add_generation_prompt: true,
  }) as string;
  const tokens: number[] = [];
  const started = performance.now();
  for (const file of task.images) {
    const image = await RawImage.read(file);
    const inputs = (await processor(text, [image], { do_image_splitting: task.split })) as { input_ids: { dims: number[] } };
    const output = (await model.generate({ ...inputs, max_new_tokens: task.newTokens, min_new_tokens: task.newTokens, do_sample: false } as never)) as {
      dims: number[];
    };
    tokens.push(output.dims[1]! - inputs.input_ids.dims[1]!);
  }
  return { loadMs, ms: performance.now() - started, tokens };
}

const RUNNERS: Record<CaptionMode, (task: CaptionTask) => Promise<Timed>> = { caption: runCaption, describe: runDescribe, theirs: runTheirs };

const task = JSON.parse(process.argv[2]!) as CaptionTask;
let result: CaptionChildResult;
try {
  const timed = await RUNNERS[task.mode](task);
  result = {
    mode: task.mode,
    split: task.split,
    ...timed,
    imagesPerMinute: (task.images.length * 60_000) / timed.ms,
    rssAfterLoadMB: currentRssMB(),
    peakRssMB: peakRssMB(),
  };
} catch (error) {
  const message = String((error as Error)?.stack ?? error);
  result = { mode: task.mode, split: task.split, loadMs: 0, ms: 0, imagesPerMinute: 0, rssAfterLoadMB: 0, peakRssMB: 0, tokens: [], error: message };
}
writeFileSync(task.resultFile, JSON.stringify(result));
process.exit(0);

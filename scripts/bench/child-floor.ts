/**
 * Benchmark child: the floor. The bare onnxruntime loop of floor-loop.ts over the same three files
 * with default session options. Prompt ids and pixel values are made beforehand (not timed) with our
 * tokenizer and image processor.
 */
import { readFileSync } from 'node:fs';
import { decodeImage, imageProcessorOptionsFromConfig, preprocessImage } from '../../src/core/image/index.js';
import { readModelSpec } from '../../src/core/model-files/spec.js';
import { readModelDirectory } from '../../src/core/model-files/directory.js';
import type { Dtype } from '../../src/core/model-files/dtypes.js';
import { ChatTemplate, expandImagePlaceholders, type ChatMessage } from '../../src/core/prompt.js';
import { TextTokenizer } from '../../src/core/tokenizer.js';
import { currentRssMB, peakRssMB, type ChildResult, type ChildTask, type Scenario, type TurnResult } from './common.js';
import { FloorModel } from './floor-loop.js';

export interface FloorImage {
  pixels?: Float32Array;
  tiles: number;
  tileSize: number;
  rows: number;
  cols: number;
}

export async function runFloor(task: ChildTask): Promise<ChildResult> {
  const { scenario } = task;
  const directory = readModelDirectory(task.modelDir, task.dtype as Dtype);
  const spec = readModelSpec(directory);
  const tokenizer = new TextTokenizer(directory.tokenizerJson, directory.tokenizerConfig);
  const template = new ChatTemplate(directory.chatTemplate);

  const loadStarted = performance.now();
  const floor = await FloorModel.create(directory.onnxPaths);
  const loadMs = performance.now() - loadStarted;
  const rssAfterLoadMB = currentRssMB();

  const { pixels, tiles, tileSize, ...grid } = await prepareFloorImage(task.modelDir, task.dtype, scenario);
  let features: Float32Array | undefined;

  const messages: ChatMessage[] = [];
  const turns: TurnResult[] = [];
  const questions = [scenario.question, ...(scenario.followUp ? [scenario.followUp] : [])];
  for (const [index, question] of questions.entries()) {
    messages.push({ role: 'user', content: scenario.image && index === 0 ? [{ type: 'image', image: scenario.image }, { type: 'text', text: question }] : [{ type: 'text', text: question }] });
    const rendered = template.render(messages, true);
    const ids = tokenizer.encode(scenario.image ? expandImagePlaceholders(rendered, [grid], spec.imageSeqLen) : rendered);
    // A follow-up prefills what the conversation adds after the cached positions.
    const newIds = ids.slice(Math.min(floor.pastLength, ids.length - 1));

    const started = performance.now();
    let visionMs = 0;
    if (pixels && !features) {
      features = await floor.encode(pixels, tiles, tileSize);
      visionMs = performance.now() - started;
    }
    const embeds = await floor.embedIds(newIds);
    if (features && index === 0) floor.merge(embeds, newIds, features, spec.imageTokenId);
    const prefillStarted = performance.now();
    let id = await floor.step(embeds, newIds.length);
    const prefillMs = performance.now() - prefillStarted;
    const stamps = [performance.now()];
    const generated = [id];
    while (generated.length < task.newTokens) {
      id = await floor.step(await floor.embedIds([id]), 1);
      generated.push(id);
      stamps.push(performance.now());
    }
    const decodeSeconds = (stamps.at(-1)! - stamps[0]!) / 1000;
    turns.push({
      promptTokens: ids.length,
      prefillTokens: newIds.length,
      completionTokens: generated.length,
      preprocessMs: 0,
      visionMs,
      prefillMs,
      firstTokenMs: stamps[0]! - started,
      decodeTokensPerSecond: decodeSeconds > 0 ? (stamps.length - 1) / decodeSeconds : 0,
      peakRssMB: peakRssMB(),
      tiles: index === 0 ? tiles : 0,
      headIds: generated.slice(0, 8),
    });
    messages.push({ role: 'assistant', content: [{ type: 'text', text: tokenizer.decode(generated) }] });
  }
  return { engine: 'floor', label: task.label, dtype: task.dtype, scenario: scenario.name, loadMs, rssAfterLoadMB, turns };
}

/** The scenario's image as pixel values (none for text), made with our image processor, and its grid. */
export async function prepareFloorImage(modelDir: string, dtype: string, scenario: Scenario): Promise<FloorImage> {
  if (!scenario.image) return { tiles: 0, tileSize: 0, rows: 0, cols: 0 };
  const directory = readModelDirectory(modelDir, dtype as Dtype);
  const raw = await decodeImage(readFileSync(scenario.image), { label: scenario.image });
  const processed = preprocessImage(raw, { ...imageProcessorOptionsFromConfig(directory.preprocessorConfig), doImageSplitting: scenario.doImageSplitting });
  return { pixels: processed.pixelValues, tiles: processed.tileCount, tileSize: processed.tileSize, rows: processed.rows, cols: processed.cols };
}

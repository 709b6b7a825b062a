/**
 * Entry of a one-shot benchmark process for transformers.js or the bare onnxruntime floor, run as plain
 * JavaScript (oneshot.ts transpiles this folder's self-contained files, so no TypeScript loader is
 * timed): `node oneshot-child.js <OneshotTask json>`. It loads, answers once, prints one OneshotReport
 * line on stdout and ends as a script would, by itself.
 */
import { readFileSync } from 'node:fs';
import type { ChildTask } from './common.js';
import { FloorModel, type FloorPaths } from './floor-loop.js';

/** The floor's input, made beforehand by the parent with our tokenizer and image processor. */
export interface FloorInput {
  paths: FloorPaths;
  ids: number[];
  imageTokenId: number;
  tiles: number;
  tileSize: number;
  /** Raw float32 pixel values `[tiles, 3, tileSize, tileSize]`, when there is an image. */
  pixelsFile?: string;
}

export type OneshotTask = { engine: 'theirs'; task: ChildTask } | { engine: 'floor'; input: FloorInput; newTokens: number };

/** What the process prints; times are performance.now() of this process (0 = its start, timeOrigin). */
export interface OneshotReport {
  timeOrigin: number;
  loadMs: number;
  firstTokenAt: number;
  lastTokenAt: number;
  /** From the request (after the load) to the first token. */
  requestFirstTokenMs: number;
  tokens: number;
}

async function runFloorOnce(input: FloorInput, newTokens: number): Promise<OneshotReport> {
  const loadStarted = performance.now();
  const floor = await FloorModel.create(input.paths, input.pixelsFile !== undefined);
  const loadMs = performance.now() - loadStarted;
  const requestAt = performance.now();
  const embeds = await floor.embedIds(input.ids);
  if (input.pixelsFile !== undefined) {
    const bytes = readFileSync(input.pixelsFile);
    const pixels = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    floor.merge(embeds, input.ids, await floor.encode(pixels, input.tiles, input.tileSize), input.imageTokenId);
  }
  let id = await floor.step(embeds, input.ids.length);
  const firstTokenAt = performance.now();
  for (let n = 1; n < newTokens; n++) id = await floor.step(await floor.embedIds([id]), 1);
  return { timeOrigin: performance.timeOrigin, loadMs, firstTokenAt, lastTokenAt: performance.now(), requestFirstTokenMs: firstTokenAt - requestAt, tokens: newTokens };
}

async function runTheirsOnce(task: ChildTask): Promise<OneshotReport> {
  const { runTheirs } = await import('./child-theirs.js');
  const result = await runTheirs(task);
  const turn = result.turns[0]!;
  return {
    timeOrigin: performance.timeOrigin,
    loadMs: result.loadMs,
    firstTokenAt: turn.firstTokenAt!,
    lastTokenAt: turn.lastTokenAt!,
    requestFirstTokenMs: turn.firstTokenMs,
    tokens: turn.completionTokens,
  };
}

const task = JSON.parse(process.argv[2]!) as OneshotTask;
const report = task.engine === 'floor' ? await runFloorOnce(task.input, task.newTokens) : await runTheirsOnce(task.task);
process.stdout.write(`${JSON.stringify(report)}\n`);

/**
 * Benchmark child: the floor. A minimal onnxruntime loop over the same three files with default
 * session options: vision encoder on all tiles, embed_tokens, one decoder call over the prompt, then
 * one embed + one decoder call per token with greedy argmax. Prompt ids and pixel values are made
 * beforehand (not timed) with our tokenizer and image processor.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { decodeImage, imageProcessorOptionsFromConfig, preprocessImage } from '../../src/core/image/index.js';
import { readModelSpec } from '../../src/core/model-files/spec.js';
import { readModelDirectory } from '../../src/core/model-files/directory.js';
import type { Dtype } from '../../src/core/model-files/dtypes.js';
import { ChatTemplate, expandImagePlaceholders, type ChatMessage } from '../../src/core/prompt.js';
import { TextTokenizer } from '../../src/core/tokenizer.js';
import { argmax, currentRssMB, peakRssMB, type ChildResult, type ChildTask, type TurnResult } from './common.js';

export async function runFloor(task: ChildTask): Promise<ChildResult> {
  const { scenario } = task;
  const directory = readModelDirectory(task.modelDir, task.dtype as Dtype);
  const spec = readModelSpec(directory);
  const tokenizer = new TextTokenizer(directory.tokenizerJson, directory.tokenizerConfig);
  const template = new ChatTemplate(directory.chatTemplate);

  const loadStarted = performance.now();
  const vision = await ort.InferenceSession.create(directory.onnxPaths.vision_encoder);
  const embed = await ort.InferenceSession.create(directory.onnxPaths.embed_tokens);
  const decoder = await ort.InferenceSession.create(directory.onnxPaths.decoder_model_merged);
  const loadMs = performance.now() - loadStarted;
  const rssAfterLoadMB = currentRssMB();

  const pastNames = decoder.inputNames.filter((n) => n.startsWith('past_key_values.'));
  const meta = (decoder.inputMetadata as readonly { name: string; type?: string; shape?: readonly (number | string)[] }[]).find((m) => m.name === pastNames[0]);
  const [, kvHeads, , headDim] = meta!.shape as number[];
  const kvType = meta!.type === 'float16' ? 'float16' : 'float32';
  const hidden = (decoder.inputMetadata as readonly { name: string; shape?: readonly (number | string)[] }[]).find((m) => m.name === 'inputs_embeds')!.shape!.at(-1) as number;
  let past: Record<string, ort.Tensor> = Object.fromEntries(
    pastNames.map((n) => [n, kvType === 'float32' ? new ort.Tensor('float32', new Float32Array(0), [1, kvHeads!, 0, headDim!]) : new ort.Tensor('float16', new Uint16Array(0), [1, kvHeads!, 0, headDim!])]),
  );
  let pastLength = 0;

  const toFloat32 = (t: ort.Tensor): Float32Array =>
    t.type === 'float32' ? (t.data as Float32Array) : Float32Array.from(t.data as Uint16Array, halfToFloat);
  const embedIds = async (ids: readonly number[]): Promise<Float32Array> => {
    const out = await embed.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
    return toFloat32(out.inputs_embeds!);
  };
  const step = async (embeds: Float32Array, count: number): Promise<number> => {
    const total = pastLength + count;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor('float32', embeds, [1, count, hidden]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: count }, (_, i) => BigInt(pastLength + i)), [1, count]),
      ...past,
    };
    const out = await decoder.run(feeds);
    past = Object.fromEntries(pastNames.map((n) => [n, out[n.replace('past_key_values.', 'present.')]!]));
    pastLength = total;
    const logits = toFloat32(out.logits!);
    const vocab = out.logits!.dims.at(-1)!;
    return argmax(logits, logits.length - vocab, vocab);
  };

  let pixels: Float32Array | undefined;
  let tiles = 0;
  let tileSize = 0;
  let grid = { rows: 0, cols: 0 };
  if (scenario.image) {
    const raw = await decodeImage(readFileSync(scenario.image), { label: scenario.image });
    const processed = preprocessImage(raw, { ...imageProcessorOptionsFromConfig(directory.preprocessorConfig), doImageSplitting: scenario.doImageSplitting });
    pixels = processed.pixelValues;
    tiles = processed.tileCount;
    tileSize = processed.tileSize;
    grid = { rows: processed.rows, cols: processed.cols };
  }
  let features: Float32Array | undefined;

  const messages: ChatMessage[] = [];
  const turns: TurnResult[] = [];
  const questions = [scenario.question, ...(scenario.followUp ? [scenario.followUp] : [])];
  for (const [index, question] of questions.entries()) {
    messages.push({ role: 'user', content: scenario.image && index === 0 ? [{ type: 'image', image: scenario.image }, { type: 'text', text: question }] : [{ type: 'text', text: question }] });
    const rendered = template.render(messages, true);
    const ids = tokenizer.encode(scenario.image ? expandImagePlaceholders(rendered, [grid], spec.imageSeqLen) : rendered);
    // A follow-up prefills what the conversation adds after the cached positions.
    const newIds = ids.slice(Math.min(pastLength, ids.length - 1));

    const started = performance.now();
    let visionMs = 0;
    if (pixels && !features) {
      const out = await vision.run({
        pixel_values: new ort.Tensor('float32', pixels, [1, tiles, 3, tileSize, tileSize]),
        pixel_attention_mask: new ort.Tensor('bool', new Uint8Array(tiles * tileSize * tileSize).fill(1), [1, tiles, tileSize, tileSize]),
      });
      features = toFloat32(out.image_features!);
      visionMs = performance.now() - started;
    }
    const embeds = await embedIds(newIds);
    if (features && index === 0) {
      let row = 0;
      for (let p = 0; p < newIds.length; p++) {
        if (newIds[p] === spec.imageTokenId) embeds.set(features.subarray(row * hidden, ++row * hidden), p * hidden);
      }
    }
    const prefillStarted = performance.now();
    let id = await step(embeds, newIds.length);
    const prefillMs = performance.now() - prefillStarted;
    const stamps = [performance.now()];
    const generated = [id];
    while (generated.length < task.newTokens) {
      id = await step(await embedIds([id]), 1);
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

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

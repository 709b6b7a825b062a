/** Benchmark child: transformers.js on the same local files, one scenario, fresh process. */
import path from 'node:path';
import { AutoModelForVision2Seq, AutoProcessor, BaseStreamer, env, RawImage } from '@huggingface/transformers';
import { currentRssMB, peakRssMB, sum, timeRuns, type ChildResult, type ChildTask, type TurnResult } from './common.js';

class StampStreamer extends BaseStreamer {
  puts = 0;
  readonly stamps: number[] = [];
  override put(): void {
    // The first put is the prompt; every later one is one generated token.
    if (this.puts++ > 0) this.stamps.push(performance.now());
  }
  override end(): void {}
}

export async function runTheirs(task: ChildTask): Promise<ChildResult> {
  const { scenario } = task;
  env.localModelPath = `${path.dirname(task.modelDir)}${path.sep}`;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  const id = path.basename(task.modelDir);

  const loadStarted = performance.now();
  const processor = await AutoProcessor.from_pretrained(id);
  const model = await AutoModelForVision2Seq.from_pretrained(id, { dtype: task.dtype as never });
  const loadMs = performance.now() - loadStarted;
  const rssAfterLoadMB = currentRssMB();

  const sessions = (model as unknown as { sessions: Record<string, { run: (...args: any[]) => Promise<any> }> }).sessions;
  const visionRuns = sessions.vision_encoder ? timeRuns(sessions.vision_encoder) : [];
  const decoderRuns = timeRuns(sessions.decoder_model_merged!);

  const messages: { role: string; content: { type: string; text?: string }[] }[] = [];
  const turns: TurnResult[] = [];
  const questions = [scenario.question, ...(scenario.followUp ? [scenario.followUp] : [])];
  for (const [index, question] of questions.entries()) {
    messages.push({ role: 'user', content: scenario.image && index === 0 ? [{ type: 'image' }, { type: 'text', text: question }] : [{ type: 'text', text: question }] });
    const visionBefore = visionRuns.length;
    const decoderBefore = decoderRuns.length;
    const started = performance.now();
    const text = processor.apply_chat_template(messages as never, { add_generation_prompt: true }) as string;
    let inputs: Record<string, any>;
    if (scenario.image) {
      const image = await RawImage.read(scenario.image);
      inputs = await processor(text, [image], { do_image_splitting: scenario.doImageSplitting });
    } else {
      inputs = processor.tokenizer!(text, { add_special_tokens: false });
    }
    const preprocessMs = performance.now() - started;
    const streamer = new StampStreamer();
    const output = (await model.generate({
      ...inputs,
      max_new_tokens: task.newTokens,
      min_new_tokens: task.newTokens,
      do_sample: false,
      streamer,
    } as never)) as any;
    const promptTokens = inputs.input_ids.dims[1] as number;
    const ids = Array.from(output.tolist()[0] as bigint[], Number).slice(promptTokens);
    const answer = processor.batch_decode(output.slice(null, [promptTokens, null]), { skip_special_tokens: true })[0]!;
    const stamps = streamer.stamps;
    const decodeSeconds = (stamps.at(-1)! - stamps[0]!) / 1000;
    turns.push({
      promptTokens,
      prefillTokens: promptTokens,
      completionTokens: ids.length,
      preprocessMs,
      visionMs: sum(visionRuns.slice(visionBefore)),
      prefillMs: decoderRuns[decoderBefore] ?? 0,
      firstTokenMs: stamps[0]! - started,
      decodeTokensPerSecond: decodeSeconds > 0 ? (stamps.length - 1) / decodeSeconds : 0,
      peakRssMB: peakRssMB(),
      tiles: inputs.pixel_values ? (inputs.pixel_values.dims[1] as number) : 0,
      headIds: ids.slice(0, 8),
      firstTokenAt: stamps[0]!,
      lastTokenAt: stamps.at(-1)!,
    });
    messages.push({ role: 'assistant', content: [{ type: 'text', text: answer }] });
  }
  return { engine: 'theirs', label: task.label, dtype: task.dtype, scenario: scenario.name, loadMs, rssAfterLoadMB, turns };
}

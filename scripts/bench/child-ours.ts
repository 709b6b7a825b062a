/** Benchmark child: our engine, one scenario, fresh process. */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChatMessage, PromptCache as PromptCacheType, SmolVLM as SmolVLMType } from '../../src/index.js';
import { peakRssMB, currentRssMB, type ChildResult, type ChildTask, type TurnResult } from './common.js';

export async function runOurs(task: ChildTask): Promise<ChildResult> {
  const { scenario } = task;
  const entry = task.srcRoot ? pathToFileURL(path.join(task.srcRoot, 'index.ts')).href : '../../src/index.js';
  const { PromptCache, SmolVLM } = (await import(entry)) as { PromptCache: typeof PromptCacheType; SmolVLM: typeof SmolVLMType };
  const loadStarted = performance.now();
  const model = await SmolVLM.load(task.modelDir, { dtype: task.dtype as never, ...(task.loadOptions ?? {}) });
  const loadMs = performance.now() - loadStarted;
  const rssAfterLoadMB = currentRssMB();
  // Generate exactly `newTokens` tokens, as transformers.js does with min_new_tokens: the bench model
  // ties <end_of_utterance> to a common token, so greedy decoding would otherwise stop early.
  (model.spec as { eosTokenIds: readonly number[] }).eosTokenIds = [];

  const cache = new PromptCache();
  const messages: ChatMessage[] = [];
  const turns: TurnResult[] = [];
  const questions = [scenario.question, ...(scenario.followUp ? [scenario.followUp] : [])];
  for (const [index, question] of questions.entries()) {
    messages.push({
      role: 'user',
      content: scenario.image && index === 0 ? [{ type: 'image', image: scenario.image }, { type: 'text', text: question }] : [{ type: 'text', text: question }],
    });
    const stamps: number[] = [];
    const started = performance.now();
    const stream = model.generate({
      messages,
      maxNewTokens: task.newTokens,
      cache,
      image: { doImageSplitting: scenario.doImageSplitting },
      onToken: () => stamps.push(performance.now()),
    });
    const result = await stream.result;
    const t = result.timings;
    const decodeSeconds = (stamps.at(-1)! - stamps[0]!) / 1000;
    turns.push({
      promptTokens: result.usage.promptTokens,
      prefillTokens: result.usage.promptTokens - result.usage.cachedTokens,
      completionTokens: result.ids.length,
      preprocessMs: t.imageMs,
      visionMs: t.encodeMs,
      prefillMs: t.prefillMs,
      firstTokenMs: stamps[0]! - started,
      decodeTokensPerSecond: decodeSeconds > 0 ? (stamps.length - 1) / decodeSeconds : 0,
      peakRssMB: peakRssMB(),
      tiles: result.usage.images.reduce((n, i) => n + i.tiles, 0),
      headIds: result.ids.slice(0, 8),
    });
    messages.push({ role: 'assistant', content: [{ type: 'text', text: result.text }] });
  }
  return { engine: 'ours', label: task.label, dtype: task.dtype, scenario: scenario.name, loadMs, rssAfterLoadMB, turns };
}

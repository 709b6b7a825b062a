/**
 * BatchScheduler on the tiny fixture model: alone it is model.generate; batched, greedy answers of
 * fp32, fp16 and q4 files are the unbatched ones; sequences join, leave, abort, keep their prompt
 * cache, stop strings and limits of their own.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { BatchScheduler, PromptCache, SmolVLM, type ChatMessage, type GenerateRequest, type GenerationResult } from '../../src/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-scheduler-'));
const models = new Map<string, SmolVLM>();
const images: string[] = [];
let dir: string;

async function load(dtype: 'fp32' | 'fp16' | 'q4' | 'int8'): Promise<SmolVLM> {
  const loaded = models.get(dtype) ?? (await SmolVLM.load(dir, { dtype, threads: 1 }));
  models.set(dtype, loaded);
  return loaded;
}

async function writeImage(name: string, width: number, height: number, seed: number): Promise<string> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) pixels.set([(i * seed) % 256, (i * 13 + seed) % 256, (i * 29) % 256], i * 3);
  const file = path.join(tmp, name);
  await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toFile(file);
  return file;
}

before(async () => {
  dir = await ensureFixtureModel('tiny');
  images.push(await writeImage('wide.png', 96, 64, 7), await writeImage('tall.png', 40, 120, 11));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango'.split(' ');
/** A text turn of the first `n` words (different lengths give different prompt lengths and answers). */
const textTurn = (n: number): ChatMessage[] => [{ role: 'user', content: WORDS.slice(0, n).join(' ') }];
const imageTurn = (image: string, question = 'What is this?'): ChatMessage[] => [
  { role: 'user', content: [{ type: 'image', image }, { type: 'text', text: question }] },
];
/** Text and image prompts of different lengths; most run to maxNewTokens, some end early. */
const mixedRequests = (): GenerateRequest[] => [
  { messages: textTurn(4), maxNewTokens: 40 },
  { messages: imageTurn(images[0]!), maxNewTokens: 30 },
  { messages: textTurn(19), maxNewTokens: 50 },
  { messages: imageTurn(images[1]!, 'Describe it.'), maxNewTokens: 24, image: { doImageSplitting: false } },
];

/** Runs the requests through the scheduler at once; also reports the most sequences seen decoding together. */
async function runTogether(scheduler: BatchScheduler, requests: readonly GenerateRequest[]): Promise<{ results: GenerationResult[]; mostActive: number }> {
  let mostActive = 0;
  const watch = () => (mostActive = Math.max(mostActive, scheduler.active));
  const results = await Promise.all(requests.map((r) => scheduler.generate({ ...r, onToken: watch }).result));
  return { results, mostActive };
}

/**
 * Runs the requests at once beside a long answer (a "pacer", started first and aborted when they are
 * done), so that each of them decodes in a batch: the tiny model decodes a 60-token answer faster than
 * another request reads its image, so without it their overlap would depend on timing.
 */
async function runBesidePacer(scheduler: BatchScheduler, requests: readonly GenerateRequest[]): Promise<{ results: GenerationResult[]; mostActive: number }> {
  const controller = new AbortController();
  let started: () => void = () => {};
  const firstToken = new Promise<void>((resolve) => (started = resolve));
  // textTurn(4) runs past 1500 tokens without an end token on every dtype tested here.
  const pacer = scheduler.generate({ messages: textTurn(4), maxNewTokens: 4000, signal: controller.signal, onToken: () => started() }).result;
  await firstToken;
  try {
    return await runTogether(scheduler, requests);
  } finally {
    controller.abort();
    assert.equal((await pacer).finishReason, 'aborted', 'the pacer decoded until the requests were done');
  }
}

async function alone(model: SmolVLM, requests: readonly GenerateRequest[]): Promise<GenerationResult[]> {
  const results: GenerationResult[] = [];
  for (const request of requests) results.push(await model.generate(request).result);
  return results;
}

function assertSameAnswers(got: readonly GenerationResult[], want: readonly GenerationResult[], label: string): void {
  got.forEach((result, i) => {
    assert.deepEqual(result.ids, want[i]!.ids, `${label}: request ${i}`);
    assert.equal(result.text, want[i]!.text, `${label}: request ${i}`);
    assert.equal(result.finishReason, want[i]!.finishReason, `${label}: request ${i}`);
  });
}

describe('BatchScheduler alone', () => {
  test('with maxBatch 1, and for a request that decodes alone, the answers are model.generate\'s (fp32, int8)', async () => {
    for (const dtype of ['fp32', 'int8'] as const) {
      const model = await load(dtype);
      const requests = mixedRequests();
      const want = await alone(model, requests);
      const one = new BatchScheduler(model, { maxBatch: 1 });
      assertSameAnswers((await runTogether(one, requests)).results, want, `${dtype} maxBatch 1`);
      // int8 quantizes each call's activations, so any batching would show here.
      const scheduler = new BatchScheduler(model);
      const lone: GenerationResult[] = [];
      for (const request of requests) lone.push(await scheduler.generate(request).result);
      assertSameAnswers(lone, want, `${dtype} one at a time`);
      assert.equal(lone[0]!.usage.completionTokens, want[0]!.usage.completionTokens);
    }
  });
});

describe('BatchScheduler batched', () => {
  test('four concurrent text and image requests give the unbatched greedy answers (fp32, fp16, q4)', async () => {
    for (const dtype of ['fp32', 'fp16', 'q4'] as const) {
      const model = await load(dtype);
      const requests = mixedRequests();
      const want = await alone(model, requests);
      const { results, mostActive } = await runBesidePacer(new BatchScheduler(model, { maxBatch: 5, maxPreparing: 4 }), requests);
      assert.ok(mostActive >= 2, `${dtype}: at most ${mostActive} sequences decoded together`);
      assertSameAnswers(results, want, dtype);
    }
  });

  test('sequences that join mid-way and more requests than slots give the unbatched answers', async () => {
    const model = await load('fp32');
    const first: GenerateRequest = { messages: textTurn(4), maxNewTokens: 300 };
    const later: GenerateRequest[] = [...mixedRequests(), { messages: textTurn(11), maxNewTokens: 20 }];
    const want = await alone(model, [first, ...later]);
    const scheduler = new BatchScheduler(model, { maxBatch: 3 });
    let joined: Promise<GenerationResult[]> | undefined;
    let mostActive = 0;
    const watch = () => {
      mostActive = Math.max(mostActive, scheduler.active);
      assert.ok(scheduler.active <= 3, `${scheduler.active} active with maxBatch 3`);
    };
    let tokens = 0;
    const firstResult = scheduler.generate({
      ...first,
      onToken: () => {
        watch();
        if (++tokens !== 2) return;
        // Once the first decodes, the others arrive: two are admitted, the rest wait their turn.
        joined = Promise.all(later.map((r) => scheduler.generate({ ...r, onToken: watch }).result));
        assert.equal(scheduler.waiting, later.length);
      },
    }).result;
    const results = [await firstResult, ...(await joined!)];
    assert.ok(mostActive >= 2, `at most ${mostActive} together`);
    assertSameAnswers(results, want, 'joined');
    assert.equal(scheduler.active, 0);
    assert.equal(scheduler.waiting, 0);
  });

  test('stop strings and maxNewTokens stay per sequence', async () => {
    const model = await load('fp32');
    const long = await model.generate({ messages: textTurn(19), maxNewTokens: 60 }).result;
    // A stop string that first occurs after the answer's first few tokens (its end repeats itself).
    let at = 8;
    while (at < long.text.length - 4 && long.text.indexOf(long.text.slice(at, at + 4)) !== at) at++;
    const stop = long.text.slice(at, at + 4);
    assert.ok(at < long.text.length - 4, 'a stop string mid-answer');
    const requests: GenerateRequest[] = [
      { messages: textTurn(19), maxNewTokens: 60, stop: [stop] },
      { messages: textTurn(19), maxNewTokens: 5 },
      { messages: textTurn(12), maxNewTokens: 9 },
      { messages: textTurn(12), maxNewTokens: 60, stop: ['no such text'] },
    ];
    const want = await alone(model, requests);
    assert.equal(want[0]!.finishReason, 'stop');
    assert.equal(want[0]!.text, long.text.slice(0, at));
    assert.deepEqual(want.slice(1).map((r) => r.ids.length), [5, 9, 60]);
    const { results, mostActive } = await runBesidePacer(new BatchScheduler(model, { maxBatch: 5, maxPreparing: 4 }), requests);
    assert.ok(mostActive >= 2);
    assertSameAnswers(results, want, 'stop and limits');
  });
});

describe('BatchScheduler aborts', () => {
  test('an aborted sequence leaves at once and frees its slot for the next request', async () => {
    const model = await load('fp32');
    const scheduler = new BatchScheduler(model, { maxBatch: 2 });
    const controller = new AbortController();
    const third: GenerateRequest = { messages: textTurn(4), maxNewTokens: 20 };
    const [wantSecond, wantThird] = await alone(model, [{ messages: textTurn(19), maxNewTokens: 60 }, third]);
    let activeAfterAbort = -1;
    let thirdResult: Promise<GenerationResult> | undefined;
    let secondTokens = 0;
    let thirdTokens = 0;
    let secondTokensAtThirdStep = -1;
    let seen = 0;
    const first = scheduler.generate({
      messages: textTurn(12),
      maxNewTokens: 60,
      signal: controller.signal,
      onToken: () => {
        if (++seen !== 5) return;
        controller.abort();
        activeAfterAbort = scheduler.active;
        // The third's second token comes from its first decode step.
        const onToken = () => ++thirdTokens === 2 && (secondTokensAtThirdStep = secondTokens);
        thirdResult = scheduler.generate({ ...third, onToken }).result;
      },
    }).result;
    const second = scheduler.generate({ messages: textTurn(19), maxNewTokens: 60, onToken: () => secondTokens++ }).result;
    const aborted = await first;
    assert.equal(aborted.finishReason, 'aborted');
    assert.equal(aborted.ids.length, 5);
    assert.equal(activeAfterAbort, 1);
    assert.deepEqual((await second).ids, wantSecond!.ids);
    assert.deepEqual((await thirdResult!).ids, wantThird!.ids);
    // The third decoded beside the second (in the freed slot), not after it.
    assert.ok(secondTokensAtThirdStep > 0 && secondTokensAtThirdStep < wantSecond!.ids.length, `${secondTokensAtThirdStep}`);
  });

  test('close() aborts decoding and waiting requests and refuses new ones', async () => {
    const model = await load('fp32');
    const scheduler = new BatchScheduler(model, { maxBatch: 1, maxPreparing: 1 });
    let tokens = 0;
    const decoding = scheduler.generate({ messages: textTurn(19), maxNewTokens: 60, onToken: () => ++tokens === 3 && scheduler.close() }).result;
    const waiting = [scheduler.generate({ messages: textTurn(4) }).result, scheduler.generate({ messages: textTurn(5) }).result];
    assert.equal(scheduler.waiting, 3);
    const result = await decoding;
    assert.equal(result.finishReason, 'aborted');
    assert.equal(result.ids.length, 3);
    // Cancelled before their prefill (ABORTED) or while waiting for a slot (an aborted answer).
    for (const pending of waiting) {
      await pending.then((r) => assert.equal(r.finishReason, 'aborted'), (e: unknown) => assert.equal((e as { code?: string }).code, 'ABORTED'));
    }
    await assert.rejects(scheduler.generate({ messages: textTurn(4) }).result, { code: 'ABORTED' });
    assert.equal(scheduler.active + scheduler.waiting, 0);
  });

  test('bad options and requests are USAGE errors', async () => {
    const model = await load('fp32');
    assert.throws(() => new BatchScheduler(model, { maxBatch: 0 }), { code: 'USAGE', message: /maxBatch must be an integer >= 1/ });
    assert.throws(() => new BatchScheduler(model, { maxPreparing: 1.5 }), { code: 'USAGE' });
    assert.throws(() => new BatchScheduler(model).generate({ messages: [] }), { code: 'USAGE' });
  });
});

describe('BatchScheduler prompt cache', () => {
  const maxAbsDiff = (a: ort.Tensor, b: ort.Tensor) => {
    const x = a.data as Float32Array;
    const y = b.data as Float32Array;
    assert.equal(x.length, y.length);
    return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
  };

  test('a batched turn leaves the cache as alone; a batched follow-up prefills only its new tokens and answers as a fresh run', async () => {
    const model = await load('fp32');
    const scheduler = new BatchScheduler(model, { maxPreparing: 4 });
    const turn = imageTurn(images[0]!);
    const others = (): GenerateRequest[] => [{ messages: textTurn(19), maxNewTokens: 30 }, { messages: imageTurn(images[1]!), maxNewTokens: 30 }];
    const cache = new PromptCache();
    const { results, mostActive } = await runBesidePacer(scheduler, [{ messages: turn, maxNewTokens: 10, cache }, ...others()]);
    assert.ok(mostActive >= 2);
    const reference = new PromptCache();
    const single = await model.generate({ messages: turn, maxNewTokens: 10, cache: reference }).result;
    assert.deepEqual(results[0]!.ids, single.ids);
    assert.equal(cache.length, reference.length);
    assert.deepEqual(cache.ids, reference.ids);
    assert.deepEqual(cache.imageSpans, reference.imageSpans);
    for (const [name, tensor] of reference.kv!.tensors) {
      assert.deepEqual(cache.kv!.tensors.get(name)!.dims, tensor.dims, name);
      assert.ok(maxAbsDiff(cache.kv!.tensors.get(name)!, tensor) < 1e-4, name);
    }

    const conversation: ChatMessage[] = [...turn, { role: 'assistant', content: results[0]!.text.trim() }, { role: 'user', content: 'And the colours?' }];
    const followUp = (await runBesidePacer(scheduler, [{ messages: conversation, maxNewTokens: 12, cache }, ...others()])).results[0]!;
    const fresh = await model.generate({ messages: conversation, maxNewTokens: 12 }).result;
    assert.deepEqual(followUp.ids, fresh.ids);
    assert.ok(followUp.usage.cachedTokens >= results[0]!.usage.promptTokens, `${followUp.usage.cachedTokens} cached`);
    assert.equal(cache.length, followUp.usage.promptTokens + followUp.ids.length - 1);
  });
});

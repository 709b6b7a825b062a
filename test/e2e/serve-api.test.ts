/**
 * End-to-end: `smolvlm serve` on the tiny fixture, driven by the official `openai` client. Answers
 * equal `smolvlm ask`'s for the same greedy request, streamed or not; images as data: URLs and local
 * http URLs; prompt caching across requests; concurrent clients; a client that leaves mid-stream.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type OpenAI from 'openai';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli, writeTestImage } from '../helpers/cli.js';
import { client, startServe, waitForHealth, waitForLogLine, type ServeProcess } from '../helpers/serve.js';

type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;

let model = '';
let red = '';
let redDataUrl = '';
let serve: ServeProcess;
let openai: OpenAI;
let images: Server;
let imagesUrl = '';

before(async () => {
  model = await ensureFixtureModel('tiny');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-serve-'));
  red = await writeTestImage(path.join(dir, 'red.png'), { r: 220, g: 20, b: 30 });
  const png = readFileSync(red);
  redDataUrl = `data:image/png;base64,${png.toString('base64')}`;
  images = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(png));
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/red.png`;
  // fp32: int8's dynamic quantization scales activations over the tokens computed together, so a
  // prompt prefilled in two parts (a cache hit) may differ from one prefilled at once in the last bits.
  serve = await startServe(model, ['--parallel', '2', '--dtype', 'fp32']);
  openai = client(serve);
});

after(async () => {
  assert.equal(await serve.stop(), 0, serve.stderr());
  await new Promise<void>((resolve) => images.close(() => resolve()));
});

/** `smolvlm ask --json` on the fixture: the answer's text. */
async function ask(args: string[]): Promise<string> {
  const result = await runCli(['ask', '--json', '--dtype', 'fp32', ...args], { env: { SMOLVLM_MODEL: model } });
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { text: string }).text;
}

async function complete(messages: Message[], maxTokens: number): Promise<OpenAI.Chat.Completions.ChatCompletion> {
  return openai.chat.completions.create({ model: 'smolvlm', messages, max_tokens: maxTokens, temperature: 0 });
}

/** Streams an answer; returns the text, the finish reason and the chunks. */
async function streamed(messages: Message[], maxTokens: number, includeUsage = false) {
  const stream = await openai.chat.completions.create({ model: 'smolvlm', messages, max_tokens: maxTokens, temperature: 0, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) });
  const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  const finish = chunks.map((c) => c.choices[0]?.finish_reason).find((r) => r);
  return { text, finish, chunks };
}

describe('answers', () => {
  test('non-streaming and streaming answers equal smolvlm ask for the same greedy request', async () => {
    const question = 'Write a haiku about autumn.';
    const expected = await ask([question, '-n', '12']);
    const answer = await complete([{ role: 'user', content: question }], 12);
    assert.equal(answer.object, 'chat.completion');
    assert.equal(answer.choices.length, 1);
    assert.equal(answer.choices[0]!.message.role, 'assistant');
    assert.equal(answer.choices[0]!.message.content, expected);
    assert.ok(['stop', 'length'].includes(answer.choices[0]!.finish_reason));
    const usage = answer.usage!;
    assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
    assert.equal(typeof usage.prompt_tokens_details?.cached_tokens, 'number');
    const stream = await streamed([{ role: 'user', content: [{ type: 'text', text: question }] }], 12);
    assert.equal(stream.text, expected);
    assert.equal(stream.finish, answer.choices[0]!.finish_reason);
    assert.equal(stream.chunks[0]!.choices[0]!.delta.role, 'assistant');
    assert.ok(stream.chunks.every((c) => c.usage === undefined || c.usage === null), 'no usage without include_usage');
  });

  test('stream_options.include_usage: a last chunk with no choices and the usage, none in the others', async () => {
    const { chunks } = await streamed([{ role: 'user', content: 'Write a haiku about autumn.' }], 6, true);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage!.completion_tokens, 6);
    assert.equal(last.usage!.total_tokens, last.usage!.prompt_tokens + 6);
    assert.ok(chunks.slice(0, -1).every((c) => c.usage === undefined || c.usage === null));
    assert.equal(chunks.at(-2)!.choices[0]!.finish_reason, 'length');
  });

  test('an image as a data: URL, and the same image from a local http URL, answer as ask does', async () => {
    const question = 'What colour is this?';
    const expected = await ask([red, question, '-n', '8']);
    const parts = (url: string): Message[] => [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: question }] }];
    const fromData = await complete(parts(redDataUrl), 8);
    assert.equal(fromData.choices[0]!.message.content, expected);
    const textOnly = await complete([{ role: 'user', content: question }], 1);
    assert.ok(fromData.usage!.prompt_tokens > textOnly.usage!.prompt_tokens + 10, 'the image tokens are counted');
    const fromUrl = await complete(parts(imagesUrl), 8);
    assert.equal(fromUrl.choices[0]!.message.content, expected);
  });

  test('extra settings from the settings table (top_k, min_p, repetition_penalty) and seed are taken', async () => {
    const body = { model: 'smolvlm', messages: [{ role: 'user' as const, content: 'Hello' }], max_tokens: 8, temperature: 1, seed: 7, top_k: 5, min_p: 0.05, repetition_penalty: 1.2 };
    const first = await openai.chat.completions.create(body);
    const again = await openai.chat.completions.create(body);
    assert.equal(again.choices[0]!.message.content, first.choices[0]!.message.content, 'the same seed gives the same answer');
    const expected = await ask(['Hello', '-n', '8', '-t', '1', '--seed', '7', '--top-k', '5', '--min-p', '0.05', '--repetition-penalty', '1.2']);
    assert.equal(first.choices[0]!.message.content, expected);
  });

  test('a follow-up that re-sends the conversation reuses its cache: cached_tokens > 0', async () => {
    const first: Message[] = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: redDataUrl } }, { type: 'text', text: 'Describe this image.' }] }];
    const answer = await complete(first, 10);
    const followUp: Message[] = [...first, { role: 'assistant', content: answer.choices[0]!.message.content ?? '' }, { role: 'user', content: 'And its shape?' }];
    const second = await complete(followUp, 6);
    const cached = second.usage!.prompt_tokens_details!.cached_tokens!;
    assert.ok(cached >= answer.usage!.prompt_tokens - 1, `cached ${cached} of the first prompt's ${answer.usage!.prompt_tokens}`);
    assert.ok(cached < second.usage!.prompt_tokens);
    assert.match(serve.logLines().at(-1)!, / 200 \d+\+\d+ tokens \(\d+ cached\) /);
  });

  test('models and health', async () => {
    const models = await openai.models.list();
    assert.deepEqual(models.data.map((m) => m.id), [model]);
    const health = (await (await fetch(`${serve.url}/health`)).json()) as Record<string, unknown>;
    assert.equal(health.status, 'ok');
    assert.equal(health.parallel, 2);
  });
});

describe('concurrency', () => {
  const questions = ['What is the capital of France?', 'Count to five.', 'Name a fruit.', 'Say hello in Spanish.'];

  test('four concurrent clients get the answers each gets alone', async () => {
    const alone: string[] = [];
    for (const q of questions) alone.push((await complete([{ role: 'user', content: q }], 16)).choices[0]!.message.content ?? '');
    const together = await Promise.all(
      questions.map((q, i) => (i % 2 === 0 ? complete([{ role: 'user', content: q }], 16).then((a) => a.choices[0]!.message.content) : streamed([{ role: 'user', content: q }], 16).then((s) => s.text))),
    );
    assert.deepEqual(together, alone);
    assert.equal(new Set(alone).size, alone.length, 'the questions have different answers');
  });

  test('a client that aborts mid-stream frees its slot at once', async () => {
    // A question the fixture answers at length (hundreds of tokens before its end token).
    const messages: Message[] = [{ role: 'user', content: 'Write a haiku about autumn.' }];
    const whole = (await complete(messages, 1000)).usage!.completion_tokens;
    assert.ok(whole > 100, `the whole answer is ${whole} tokens`);
    const controller = new AbortController();
    const stream = await openai.chat.completions.create({ model: 'smolvlm', messages, max_tokens: 1000, temperature: 0, stream: true }, { signal: controller.signal });
    let chunks = 0;
    try {
      for await (const _chunk of stream) {
        if (++chunks < 3) continue;
        controller.abort();
        break;
      }
    } catch {
      // The client may report the abort as an error or just end the stream.
    }
    assert.equal(chunks, 3);
    const health = await waitForHealth(serve.url, (h) => h.active === 0 && h.waiting === 0);
    assert.deepEqual([health.active, health.waiting], [0, 0]);
    const line = await waitForLogLine(serve, (l) => l.includes('(client left)'));
    assert.ok(line, serve.stderr());
    const completion = Number(/\+(\d+) tokens/.exec(line)![1]);
    assert.ok(completion < whole, `the generation stopped early (${completion} of ${whole} tokens)`);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import {
  backoffDelay,
  captionImages,
  chatCompletionsUrl,
  createRemoteCaptioner,
  parseRetryAfter,
  type CaptionRunOptions,
  type RemoteCaptionerOptions,
  type RemoteRetry,
} from '../../src/core/caption/index.js';
import { drain, makeImages, readJsonl, rejectsWithCode } from '../helpers/caption.js';
import { fakeOpenAIText, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';

let root: string;
let images: string[];
let server: FakeOpenAI;
let n = 0;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-caption-remote-'));
  images = await makeImages(root, ['a.png', 'b.jpg', 'c.png', 'd.png']);
});
after(() => rm(root, { recursive: true, force: true }));
beforeEach(async () => {
  server = await startFakeOpenAI();
});
afterEach(() => server.close());

const PROMPT = 'Write a short caption.';

/** A run against the fake server; retries wait 1-2 ms unless the test says otherwise. */
function remoteRun(remote: Partial<RemoteCaptionerOptions> = {}, run: Partial<CaptionRunOptions> = {}) {
  const retries: RemoteRetry[] = [];
  const captioner = createRemoteCaptioner({
    url: server.url,
    model: 'HuggingFaceTB/SmolVLM-256M-Instruct',
    env: {},
    backoff: { initialMs: 2, maxMs: 4 },
    onRetry: (event) => retries.push(event),
    ...remote,
  });
  const output = path.join(root, `out-${n++}.jsonl`);
  const errors = path.join(root, `errors-${n++}.jsonl`);
  return { run: captionImages(images, { captioner, prompt: PROMPT, output, errors, ...run }), output, errors, retries };
}

async function expectedText(file: string): Promise<string> {
  return fakeOpenAIText(await readFile(file), PROMPT);
}

describe('remote URL and retry helpers', () => {
  test('chatCompletionsUrl accepts the server root, /v1 and the full path', () => {
    for (const base of ['http://host:8000', 'http://host:8000/', 'http://host:8000/v1', 'http://host:8000/v1/', 'http://host:8000/v1/chat/completions']) {
      assert.equal(chatCompletionsUrl(base), 'http://host:8000/v1/chat/completions', base);
    }
    assert.equal(chatCompletionsUrl('https://gateway.example/vllm'), 'https://gateway.example/vllm/v1/chat/completions');
    assert.throws(() => chatCompletionsUrl('ftp://host'), /must start with http/);
    assert.throws(() => chatCompletionsUrl('host:8000'), /must start with http|must be an http/);
    assert.throws(() => chatCompletionsUrl('not a url'), /must be an http\(s\) URL/);
  });

  test('Retry-After in seconds or as an HTTP date; backoff doubles with jitter up to its cap', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6_000);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    const low = { initialMs: 100, maxMs: 1000, random: () => 0 };
    const high = { ...low, random: () => 0.999999 };
    assert.deepEqual([0, 1, 2, 5].map((r) => backoffDelay(r, low)), [50, 100, 200, 500]);
    assert.ok(Math.abs(backoffDelay(2, high) - 400) < 0.01);
  });
});

describe('remote captioning against a fake OpenAI-compatible server', () => {
  test('one chat completion per image: data URL, prompt, settings, model, API key from OPENAI_API_KEY; records as local ones', async () => {
    const settings = { maxTokens: 40, temperature: 0.7, topP: 0.9, seed: 7, stop: ['\n\n'], topK: 20 };
    const { run, output } = remoteRun({ env: { OPENAI_API_KEY: 'sk-env' } }, { settings });
    await drain(run);
    const requests = server.chatRequests();
    assert.equal(requests.length, 4);
    for (const request of requests) {
      assert.equal(request.authorization, 'Bearer sk-env');
      const { messages, ...rest } = request.body!;
      assert.deepEqual(rest, { model: 'HuggingFaceTB/SmolVLM-256M-Instruct', max_tokens: 40, temperature: 0.7, top_k: 20, top_p: 0.9, seed: 7, stop: ['\n\n'] });
      assert.equal((messages as unknown[]).length, 1);
      assert.equal(request.prompt, PROMPT);
    }
    const byType = requests.map((r) => r.image!.mediaType).sort();
    assert.deepEqual(byType, ['image/jpeg', 'image/png', 'image/png', 'image/png']);
    const records = await readJsonl(output);
    for (const record of records) {
      const file = path.join(root, record.file_name as string);
      assert.equal(record.text, await expectedText(file));
      assert.equal(record.finish_reason, 'stop');
      assert.equal(record.model, 'HuggingFaceTB/SmolVLM-256M-Instruct');
      assert.deepEqual(Object.keys(record.usage as object), ['prompt_tokens', 'completion_tokens', 'total_tokens']);
    }
    assert.deepEqual(run.summary().captioned, 4);
  });

  test('an explicit API key wins over the environment; `concurrency` requests are in flight together', async () => {
    server.fault({ kind: 'slow', delayMs: 150 }, 4);
    const { run } = remoteRun({ apiKey: 'sk-flag', env: { OPENAI_API_KEY: 'sk-env' }, concurrency: 3 });
    await drain(run);
    assert.ok(server.chatRequests().every((r) => r.authorization === 'Bearer sk-flag'));
    assert.equal(server.maxConcurrent, 3);
  });

  test('429 with Retry-After: waits what the server says (not the backoff), then succeeds', async () => {
    server.fault({ kind: 'status', status: 429, retryAfter: '0.05' }, 2);
    const { run, output, retries } = remoteRun({ backoff: { initialMs: 60_000, maxMs: 60_000 } });
    await drain(run);
    assert.equal(retries.length, 2);
    for (const retry of retries) {
      assert.equal(retry.delayMs, 50);
      assert.match(retry.reason, /^429 Too Many Requests: fake 429/);
    }
    assert.equal((await readJsonl(output)).length, 4);
    assert.equal(server.chatRequests().length, 6);
  });

  test('500s are retried with backoff; an image that keeps failing is reported and the others go on', async () => {
    const target = await readFile(images[2]!);
    server.fault({ kind: 'status', status: 500, message: 'CUDA out of memory' }, 1, (r) => !r.image!.bytes.equals(target));
    server.fault({ kind: 'status', status: 503 }, 100, (r) => r.image!.bytes.equals(target));
    const { run, output, errors } = remoteRun({ retries: 2 });
    const results = await drain(run);
    assert.deepEqual(results.map((r) => r.status).sort(), ['done', 'done', 'done', 'failed']);
    const failed = results.find((r) => r.status === 'failed');
    assert.ok(failed?.status === 'failed' && failed.path === images[2]);
    assert.equal(failed.error.code, 'NETWORK');
    assert.match(failed.error.message, /503 Service Unavailable: fake 503 \(gave up after 3 attempts\)/);
    assert.equal((await readJsonl(output)).length, 3);
    assert.equal((await readJsonl(errors)).length, 1);
    // 3 attempts for the failing image; 2 for the one hit by the single 500; 1 for each of the other two.
    assert.equal(server.chatRequests().length, 3 + 2 + 1 + 1);
  });

  test('a slow answer past the per-request timeout is abandoned and retried', async () => {
    server.fault({ kind: 'slow', delayMs: 30_000 }, 1);
    const { run, output, retries } = remoteRun({ timeoutMs: 300, concurrency: 1 });
    await drain(run);
    assert.equal(retries.length, 1);
    assert.match(retries[0]!.reason, /no answer within 0\.3 s/);
    assert.equal((await readJsonl(output)).length, 4);
  });

  test('a dropped connection is retried', async () => {
    server.fault({ kind: 'drop' }, 2);
    const { run, output, retries } = remoteRun();
    await drain(run);
    assert.equal(retries.length, 2);
    assert.match(retries[0]!.reason, /cannot reach the server/);
    assert.equal((await readJsonl(output)).length, 4);
    assert.equal(server.chatRequests().filter((r) => r.fault === 'drop').length, 2);
  });

  test('a refused API key (401) or an unknown route (404) stops the run: retrying every image cannot help', async () => {
    await server.close();
    server = await startFakeOpenAI({ apiKey: 'sk-right' });
    await rejectsWithCode(drain(remoteRun({ apiKey: 'sk-wrong', concurrency: 1 }).run), 'USAGE', /refused the request \(401 Unauthorized: Incorrect API key provided\): check the API key/);
    assert.equal(server.chatRequests().length, 1);
    await rejectsWithCode(drain(remoteRun({ url: `${server.url}/nope`, apiKey: 'sk-right' }).run), 'USAGE', /404 Not Found: no route POST \/nope\/v1\/chat\/completions/);
  });

  test('settings a server cannot honour (split, image size) are refused', async () => {
    await rejectsWithCode(drain(remoteRun({}, { settings: { split: false } }).run), 'USAGE', /split apply to a local model only/);
  });

  test('an abort during a long Retry-After stops the run at once', async () => {
    server.fault({ kind: 'status', status: 429, retryAfter: '120' }, 100);
    const controller = new AbortController();
    const { run, output } = remoteRun({ onRetry: () => controller.abort(), concurrency: 1 }, { signal: controller.signal });
    await rejectsWithCode(drain(run), 'ABORTED');
    assert.equal(await readFile(output, 'utf8'), '');
  });
});

/** The server's parts on their own: request checking, the image URL policy, auth, the cache pool, the engine, the CLI's parsers and log line. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { formatRequestLog } from '../../src/cli/request-log.js';
import { byteSize, portNumber } from '../../src/cli/serve-options.js';
import { KvCache } from '../../src/core/decoder.js';
import { SmolVLMError } from '../../src/core/errors.js';
import { TextStream } from '../../src/core/generation/stream.js';
import type { GenerateRequest, GenerationResult } from '../../src/core/generation/types.js';
import { bearerMatches } from '../../src/core/server/auth.js';
import { cacheBytes, PromptCachePool } from '../../src/core/server/cache-pool.js';
import { SequentialEngine } from '../../src/core/server/engine.js';
import { ApiError, toApiError } from '../../src/core/server/errors.js';
import { checkImageUrl, imageUrlPolicy, isLoopbackHost } from '../../src/core/server/image-policy.js';
import { parseChatRequest } from '../../src/core/server/request.js';
import { parseResponseFormat } from '../../src/core/server/response-format.js';

const loopback = imageUrlPolicy('127.0.0.1');

describe('image URL policy', () => {
  test('loopback addresses, by name and number, IPv4 and IPv6', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '127.255.0.9', 'localhost', 'LOCALHOST', 'app.localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
    for (const host of ['0.0.0.0', '::', '[::]', '192.168.1.20', '10.0.0.1', '128.0.0.1', 'example.com', 'localhost.example.com', '::ffff:10.0.0.1', '']) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });

  test('http(s) URLs are fetched on loopback or when allowed; data: always; paths and file:// never', () => {
    assert.equal(imageUrlPolicy('0.0.0.0').remote, false);
    assert.equal(imageUrlPolicy('192.168.1.20').remote, false);
    assert.equal(imageUrlPolicy('0.0.0.0', true).remote, true);
    assert.equal(loopback.remote, true);
    const refused = (url: string, policy = loopback) => {
      try {
        checkImageUrl(url, 'p', policy);
        return undefined;
      } catch (error) {
        assert.ok(error instanceof ApiError);
        assert.equal(error.status, 400);
        assert.equal(error.param, 'p');
        return error.code;
      }
    };
    assert.equal(refused('data:image/png;base64,AAAA', imageUrlPolicy('0.0.0.0')), undefined);
    assert.equal(refused('https://example.com/a.png'), undefined);
    assert.equal(refused('HTTP://example.com/a.png'), undefined);
    assert.equal(refused('https://example.com/a.png', imageUrlPolicy('0.0.0.0')), 'image_url_not_allowed');
    assert.equal(refused('file:///etc/passwd', imageUrlPolicy('0.0.0.0', true)), 'image_url_not_allowed');
    for (const url of ['/etc/passwd', '~/photo.jpg', '-', 'ftp://example.com/a.png', 'photo.jpg']) assert.equal(refused(url), 'invalid_image_url', url);
  });
});

test('bearer tokens: only the exact key after "Bearer" passes', () => {
  assert.equal(bearerMatches('Bearer sesame', 'sesame'), true);
  assert.equal(bearerMatches('bearer   sesame ', 'sesame'), true);
  for (const header of [undefined, '', 'sesame', 'Bearer', 'Bearer ', 'Bearer sesam', 'Bearer sesame2', 'Basic sesame', 'Token sesame']) {
    assert.equal(bearerMatches(header, 'sesame'), false, String(header));
  }
});

describe('chat completion requests', () => {
  test('messages, parts, settings by their table names and OpenAI spellings', () => {
    const request = parseChatRequest(
      {
        model: 'anything',
        messages: [
          { role: 'developer', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'high' } }, { type: 'text', text: 'What?' }] },
          { role: 'assistant', content: 'A cat.' },
          { role: 'user', content: [{ type: 'image_url', image_url: 'https://example.com/b.png' }] },
        ],
        max_tokens: 10,
        max_completion_tokens: 20,
        temperature: 0.5,
        top_p: 0.9,
        top_k: 40,
        min_p: 0.1,
        repetition_penalty: 1.1,
        seed: 3,
        stop: 'END',
        split: false,
        image_size: 64,
        n: 1,
        stream: true,
        stream_options: { include_usage: true },
        presence_penalty: 0.2,
      },
      loopback,
    );
    assert.deepEqual(request.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'image', image: 'data:image/png;base64,AAAA' }, { type: 'text', text: 'What?' }] },
      { role: 'assistant', content: 'A cat.' },
      { role: 'user', content: [{ type: 'image', image: 'https://example.com/b.png' }] },
    ]);
    assert.deepEqual(request.imageParams, ['messages[1].content[0].image_url', 'messages[3].content[0].image_url']);
    assert.deepEqual(request.settings, { temperature: 0.5, topK: 40, topP: 0.9, minP: 0.1, repetitionPenalty: 1.1, seed: 3, maxTokens: 20, stop: ['END'], split: false, imageSize: 64 });
    assert.equal(request.stream, true);
    assert.equal(request.includeUsage, true);
    assert.equal(request.responseFormat, undefined);
  });

  test('nulls mean unset; only what the request sets is in its settings', () => {
    const request = parseChatRequest({ messages: [{ role: 'user', content: 'Hi' }], temperature: null, stop: null, n: null, stream: null, stream_options: null }, loopback);
    assert.deepEqual(request.settings, {});
    assert.equal(request.stream, false);
    assert.equal(request.includeUsage, false);
  });

  test('each wrong field is a 400 naming it', () => {
    const param = (body: Record<string, unknown>) => {
      try {
        parseChatRequest({ messages: [{ role: 'user', content: 'Hi' }], ...body }, loopback);
        return 'accepted';
      } catch (error) {
        assert.ok(error instanceof ApiError, String(error));
        assert.equal(error.status, 400);
        return error.param;
      }
    };
    assert.equal(param({ n: 2 }), 'n');
    assert.equal(param({ model: 7 }), 'model');
    assert.equal(param({ top_p: 0 }), 'top_p');
    assert.equal(param({ seed: 1.5 }), 'seed');
    assert.equal(param({ stop: ['a', 3] }), 'stop');
    assert.equal(param({ split: 'yes' }), 'split');
    assert.equal(param({ max_completion_tokens: -1 }), 'max_completion_tokens');
    assert.equal(param({ stream_options: true }), 'stream_options');
    assert.equal(param({ stream_options: { include_usage: 1 } }), 'stream_options.include_usage');
    assert.equal(param({ messages: 'Hi' }), 'messages');
    assert.equal(param({ messages: [null] }), 'messages[0]');
    assert.equal(param({ messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] }), 'messages[0].content[0].text');
    assert.equal(param({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }), 'messages[0].content[0].image_url.url');
    assert.equal(param({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] }), 'accepted');
    assert.equal(param({ frequency_penalty: 2, tools: [], whatever: {} }), 'accepted');
    assert.throws(() => parseChatRequest('text', loopback), (e: ApiError) => e.param === null && /must be a JSON object, got the string/.test(e.message));
  });

  test('response_format as structured output will take it', () => {
    assert.equal(parseResponseFormat(undefined), undefined);
    assert.equal(parseResponseFormat({ type: 'text' }), undefined);
    assert.deepEqual(parseResponseFormat({ type: 'json_object' }), { format: 'json' });
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    assert.deepEqual(parseResponseFormat({ type: 'json_schema', json_schema: { name: 'x', schema, strict: true } }), { format: { schema } });
    assert.deepEqual(parseResponseFormat({ type: 'json_object', schema }), { format: { schema } });
    assert.throws(() => parseResponseFormat({ type: 'json_schema', json_schema: { name: 'x' } }), (e: ApiError) => e.param === 'response_format.json_schema.schema');
    assert.throws(() => parseResponseFormat('json'), (e: ApiError) => e.param === 'response_format');
  });
});

test("library errors: what a request causes is a 400 with OpenAI's codes, the rest a 500 without a stack", () => {
  assert.deepEqual(toApiError(new SmolVLMError('IMAGE_INVALID', 'bad'), 'p').body(), { error: { message: 'bad', type: 'invalid_request_error', param: 'p', code: 'invalid_image' } });
  assert.equal(toApiError(new SmolVLMError('CONTEXT_OVERFLOW', 'long')).code, 'context_length_exceeded');
  assert.equal(toApiError(new SmolVLMError('MODEL_INVALID', 'broken')).status, 500);
  const internal = toApiError(new TypeError('x is undefined\n    at somewhere'));
  assert.equal(internal.status, 500);
  assert.equal(internal.message, 'internal error: x is undefined');
  assert.equal(internal.type, 'server_error');
});

describe('prompt cache pool', () => {
  /** A cache holding `ids` with a KV tensor of 4 floats per position. */
  function fill(cache: { ids: number[]; kv: KvCache | undefined }, ids: number[]): void {
    cache.ids = ids;
    cache.kv = new KvCache(new Map([['k', new ort.Tensor('float32', new Float32Array(ids.length * 4), [1, 1, ids.length, 4])]]), ids.length);
  }
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  test('a prompt that continues a conversation gets its cache; a new one a new cache', () => {
    const pool = new PromptCachePool();
    const a = pool.acquire(range(0, 10), []);
    fill(a, range(0, 20));
    pool.release(a);
    assert.equal(pool.acquire(range(0, 30), []), a, 'extends the cached conversation');
    const b = pool.acquire(range(0, 30), []);
    assert.notEqual(b, a, 'a busy cache is never shared');
    fill(b, [1, 2, 3]);
    pool.release(b);
    pool.release(a);
    // Shares only 3 of a's 20 positions (a system prompt, say): a fresh cache, a stays for its conversation.
    const c = pool.acquire([...range(0, 3), 99, 98], []);
    assert.notEqual(c, a);
    assert.notEqual(c, b);
  });

  test('empty caches are dropped; idle ones beyond the count or the memory budget, least recently used first', () => {
    const pool = new PromptCachePool({ maxEntries: 2, maxBytes: 1000 });
    const empty = pool.acquire([1], []);
    pool.release(empty);
    assert.equal(pool.size, 0);
    const caches = [10, 20, 30].map((start) => {
      const cache = pool.acquire([start], []);
      fill(cache, range(start, start + 10));
      return cache;
    });
    for (const cache of caches) pool.release(cache);
    assert.equal(pool.size, 2);
    assert.equal(cacheBytes(caches[1]!), 160);
    assert.equal(caches[0]!.length, 0, 'the oldest was dropped and cleared');
    assert.equal(pool.acquire(range(30, 40), []), caches[2]);
    const big = new PromptCachePool({ maxBytes: 200 });
    const x = big.acquire([1], []);
    const y = big.acquire([2], []);
    fill(x, range(0, 10));
    fill(y, range(100, 110));
    big.release(x);
    big.release(y);
    assert.equal(big.size, 1, 'two caches of 160 bytes exceed 200');
    assert.equal(big.bytes, 160);
  });
});

describe('sequential engine', () => {
  /** A model whose answers end when the test says. */
  function fakeModel() {
    const pending: { request: GenerateRequest; finish: () => void }[] = [];
    const model = {
      generate(request: GenerateRequest): TextStream<GenerationResult> {
        return new TextStream(async (emit) => {
          await new Promise<void>((resolve) => pending.push({ request, finish: resolve }));
          emit(String(request.maxNewTokens));
          return { text: String(request.maxNewTokens) } as GenerationResult;
        });
      },
    };
    return { model, pending };
  }
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  test('one request at a time, in order; a request aborted while waiting leaves the line', async () => {
    const { model, pending } = fakeModel();
    const engine = new SequentialEngine(model);
    const controller = new AbortController();
    const first = engine.generate({ messages: [], maxNewTokens: 1 });
    const second = engine.generate({ messages: [], maxNewTokens: 2, signal: controller.signal });
    const third = engine.generate({ messages: [], maxNewTokens: 3 });
    await tick();
    assert.deepEqual([engine.active, engine.waiting, pending.length], [1, 2, 1]);
    controller.abort();
    await assert.rejects(second.result, { code: 'ABORTED' });
    assert.deepEqual([engine.active, engine.waiting], [1, 1]);
    pending.shift()!.finish();
    assert.equal(await first.text(), '1');
    await tick();
    assert.deepEqual([engine.active, engine.waiting, pending.length], [1, 0, 1]);
    assert.equal(pending[0]!.request.maxNewTokens, 3);
    pending.shift()!.finish();
    assert.equal((await third.result).text, '3');
    assert.deepEqual([engine.active, engine.waiting], [0, 0]);
  });
});

describe('serve flags and log line', () => {
  test('sizes: binary KiB/MiB/GiB (and K/M/G), decimal kB/MB/GB, plain bytes', () => {
    assert.equal(byteSize('20MiB'), 20 * 1024 * 1024);
    assert.equal(byteSize('512 KiB'), 512 * 1024);
    assert.equal(byteSize('1.5m'), 1.5 * 1024 * 1024);
    assert.equal(byteSize('5MB'), 5_000_000);
    assert.equal(byteSize('1048576'), 1048576);
    for (const bad of ['', 'MiB', '20 parsecs', '-1', '0']) assert.throws(() => byteSize(bad), bad);
  });

  test('ports from 0 to 65535', () => {
    assert.equal(portNumber('0'), 0);
    assert.equal(portNumber('8080'), 8080);
    for (const bad of ['65536', '-1', '80.5', 'http', '']) assert.throws(() => portNumber(bad), bad);
  });

  test('one line per request; the prompt only with --verbose', () => {
    const entry = { method: 'POST', path: '/v1/chat/completions', status: 200, ms: 153, aborted: false, promptTokens: 24, cachedTokens: 8, completionTokens: 12, prompt: 'secret question' };
    const now = new Date('2025-01-31T12:00:00Z');
    assert.equal(formatRequestLog(entry, {}, now), '2025-01-31T12:00:00.000Z POST /v1/chat/completions 200 24+12 tokens (8 cached) 153 ms');
    assert.match(formatRequestLog(entry, { verbose: true }, now), / 153 ms prompt="secret question"$/);
    assert.equal(formatRequestLog({ method: 'GET', path: '/nope', status: 404, ms: 1, aborted: false, error: 'no such endpoint: /nope' }, {}, now), '2025-01-31T12:00:00.000Z GET /nope 404 1 ms: no such endpoint: /nope');
    const json = JSON.parse(formatRequestLog(entry, { json: true }, now)) as Record<string, unknown>;
    assert.deepEqual(json, { time: '2025-01-31T12:00:00.000Z', method: 'POST', path: '/v1/chat/completions', status: 200, ms: 153, prompt_tokens: 24, cached_tokens: 8, completion_tokens: 12 });
  });
});

/**
 * End-to-end: every error `smolvlm serve` answers has its status and OpenAI's error body
 * (`{"error":{"message","type","param","code"}}`) naming the field, and none of them hurts the server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { writeTestImage } from '../helpers/cli.js';
import { client, startServe, waitForHealth, type ServeProcess } from '../helpers/serve.js';

let serve: ServeProcess;
let png: Buffer;
let images: Server;
let imagesUrl = '';
/** Responses of the image server held back until the test releases them. */
const held: ServerResponse[] = [];

before(async () => {
  const model = await ensureFixtureModel('tiny');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-serve-errors-'));
  png = readFileSync(await writeTestImage(path.join(dir, 'red.png'), { r: 220, g: 20, b: 30 }));
  images = createServer((_req, res) => void held.push(res));
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/slow.png`;
  serve = await startServe(model, ['--max-body', '64KiB', '--parallel', '1', '--queue', '0']);
});

after(async () => {
  assert.equal(await serve.stop(), 0, serve.stderr());
  images.closeAllConnections();
  await new Promise<void>((resolve) => images.close(() => resolve()));
});

interface Answer {
  status: number;
  headers: Headers;
  body: { error?: { message: string; type: string; param: string | null; code: string | null } } & Record<string, unknown>;
}

/** The status, headers and JSON body of a fetch() answer. */
async function answerOf(response: Response): Promise<Answer> {
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'] };
}

/** POSTs `body` (JSON, or text as it is) to /v1/chat/completions. */
async function post(body: unknown): Promise<Answer> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return answerOf(await fetch(`${serve.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text }));
}

/** Asserts an OpenAI error body with this status and param, the message matching `message`. */
function assertError(answer: Answer, status: number, param: string | null, message: RegExp): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  const error = answer.body.error!;
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(error.param, param);
  assert.match(error.message, message);
  assert.equal(typeof error.type, 'string');
}

const hello = [{ role: 'user', content: 'Hello' }];

describe('wrong fields are a 400 naming the field', () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['n other than 1', { messages: hello, n: 2 }, 'n', /^n must be 1/],
    ['a negative temperature', { messages: hello, temperature: -1 }, 'temperature', /^temperature must be a number >= 0/],
    ['top_k not an integer', { messages: hello, top_k: 1.5 }, 'top_k', /^top_k must be an integer >= 0/],
    ['min_p out of range', { messages: hello, min_p: 1 }, 'min_p', /^min_p must be in \[0, 1\)/],
    ['repetition_penalty of 0', { messages: hello, repetition_penalty: 0 }, 'repetition_penalty', /^repetition_penalty must be a number > 0/],
    ['an empty stop string', { messages: hello, stop: '' }, 'stop', /^stop must be a list of non-empty strings/],
    ['max_completion_tokens of 0', { messages: hello, max_completion_tokens: 0 }, 'max_completion_tokens', /^max_completion_tokens must be an integer >= 1/],
    ['max_tokens as text', { messages: hello, max_tokens: '8' }, 'max_tokens', /^max_tokens must be an integer >= 1, got the string "8"/],
    ['stream not a boolean', { messages: hello, stream: 'yes' }, 'stream', /^stream must be true or false/],
    ['no messages', { messages: [] }, 'messages', /^messages must be a non-empty array/],
    ['an unknown role', { messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role', /^messages\[0\]\.role must be "system", "developer", "user" or "assistant"/],
    ['content neither text nor parts', { messages: [{ role: 'user', content: 42 }] }, 'messages[0].content', /must be a string or an array of parts/],
    ['an audio part', { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }, 'messages[0].content[0].type', /must be "text" or "image_url"/],
    ['a file:// image', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }] }] }, 'messages[0].content[0].image_url.url', /file:\/\/ URLs are never read/],
    ['a local path as image', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: '/etc/passwd' } }] }] }, 'messages[0].content[0].image_url.url', /must be a data: URL or an http\(s\) URL/],
    ['image_size above the model', { messages: hello, image_size: 4096 }, 'image_size', /^image_size must be at most \d+/],
    ['an unknown response_format', { messages: hello, response_format: { type: 'xml' } }, 'response_format.type', /must be "text", "json_object" or "json_schema"/],
    ['a response_format schema with an unsupported keyword', { messages: hello, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: 'a+' } } } }, 'response_format', /pattern/],
  ];
  for (const [name, body, param, message] of cases) {
    test(name, async () => assertError(await post({ model: 'm', ...body }), 400, param, message));
  }

  test('the official client raises BadRequestError with the param', async () => {
    await assert.rejects(client(serve).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], n: 3 }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.equal(error.status, 400);
      assert.equal(error.param, 'n');
      return true;
    });
  });

  test('unknown fields are ignored', async () => {
    const answer = await post({ messages: hello, max_tokens: 2, frequency_penalty: 0.5, user: 'someone', logit_bias: {}, whatever: [1] });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });
});

describe('other request errors', () => {
  test('malformed JSON, an empty body and a body that is not an object: 400', async () => {
    assertError(await post('{"messages": ['), 400, null, /^the request body is not valid JSON/);
    assertError(await post(''), 400, null, /^the request body is empty/);
    assertError(await post('[1, 2]'), 400, null, /^the request body must be a JSON object, got an array/);
  });

  test('a body over --max-body: 413', async () => {
    const big = { messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] };
    assertError(await post(big), 413, null, /larger than the 64 KiB limit/);
  });

  test('an image that cannot be read: 400 naming the part', async () => {
    const text = `data:text/plain;base64,${Buffer.from('not an image at all').toString('base64')}`;
    const answer = await post({ messages: [{ role: 'user', content: [{ type: 'text', text: 'What?' }, { type: 'image_url', image_url: { url: text } }] }] });
    assertError(answer, 400, 'messages[0].content[1].image_url', /^messages\[0\]\.content\[1\]\.image_url: data: URI is not a supported image/);
    assert.equal(answer.body.error!.code, 'invalid_image');
    const broken = await post({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,@@@' } }] }] });
    assertError(broken, 400, 'messages[0].content[0].image_url', /not valid base64/);
  });

  test('a prompt longer than the context: 400 context_length_exceeded', async () => {
    const answer = await post({ messages: [{ role: 'user', content: 'word '.repeat(9000) }] });
    assertError(answer, 400, 'messages', /^the prompt is \d+ tokens but the model's context is 8192$/);
    assert.equal(answer.body.error!.code, 'context_length_exceeded');
  });

  test('unknown paths are 404, wrong methods 405 with Allow; GET / is the chat page', async () => {
    const missing = await fetch(`${serve.url}/v1/completions`, { method: 'POST', body: '{}' });
    assertError(await answerOf(missing), 404, null, /^no such endpoint: \/v1\/completions$/);
    const root = await fetch(`${serve.url}/`);
    assert.equal(root.status, 200);
    assert.match(root.headers.get('content-type') ?? '', /^text\/html/);
    const wrong = await fetch(`${serve.url}/v1/chat/completions`);
    assertError(await answerOf(wrong), 405, null, /^GET is not allowed on \/v1\/chat\/completions \(allowed: POST\)$/);
    assert.equal(wrong.headers.get('allow'), 'POST');
  });

  test('a full queue: 503 with Retry-After; the slot is free again once the request ends', async () => {
    // The first request holds the only place while its image (from a local server that answers late) is read.
    const first = post({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: imagesUrl } }, { type: 'text', text: 'What?' }] }], max_tokens: 2 });
    await waitForHealth(serve.url, (h) => h.waiting === 1);
    for (let i = 0; i < 400 && held.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(held.length, 1);
    const busy = await post({ messages: hello, max_tokens: 2 });
    assertError(busy, 503, null, /^the server is busy/);
    assert.equal(busy.headers.get('retry-after'), '1');
    held.shift()!.writeHead(200, { 'content-type': 'image/png' }).end(png);
    assert.equal((await first).status, 200);
    const health = await waitForHealth(serve.url, (h) => h.active === 0 && h.waiting === 0);
    assert.deepEqual([health.active, health.waiting], [0, 0]);
    assert.equal((await post({ messages: hello, max_tokens: 2 })).status, 200);
  });

  test('garbage on the socket is a 400; a client that leaves mid-body or mid-answer hurts nothing', async () => {
    const { port } = new URL(serve.url);
    const raw = (payload: string, end: boolean) =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.write(payload));
        let data = '';
        socket.on('data', (chunk) => (data += chunk.toString()));
        socket.on('close', () => resolve(data));
        socket.on('error', () => resolve(data));
        if (!end) setTimeout(() => socket.destroy(), 200);
      });
    assert.match(await raw('NONSENSE\r\n\r\n', true), /^HTTP\/1\.1 400 Bad Request/);
    await raw('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"messages":', false);
    const body = JSON.stringify({ messages: hello, max_tokens: 50 });
    await raw(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`, false);
    const health = await waitForHealth(serve.url, (h) => h.active === 0 && h.waiting === 0);
    assert.deepEqual([health.status, health.active, health.waiting], ['ok', 0, 0]);
  });

  test('after all that the server still answers, and logged one line per request without prompt text', async () => {
    assert.equal((await fetch(`${serve.url}/health`)).status, 200);
    const lines = serve.logLines();
    assert.ok(lines.some((l) => / POST \/v1\/chat\/completions 413 \d+ ms: the request body is larger/.test(l)));
    assert.ok(lines.some((l) => / POST \/v1\/chat\/completions 503 \d+ ms: the server is busy/.test(l)));
    assert.ok(lines.every((l) => !l.includes('prompt=')), 'no prompt text without --verbose');
  });
});

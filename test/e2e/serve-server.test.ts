/**
 * End-to-end: `smolvlm serve`'s API key, its image URL policy when listening on a non-loopback
 * address, and how it stops (SIGTERM lets a stream finish; a second signal ends it; exit 0).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import OpenAI from 'openai';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { writeTestImage } from '../helpers/cli.js';
import { client, startServe, type ServeProcess } from '../helpers/serve.js';

let model = '';
let redDataUrl = '';

before(async () => {
  model = await ensureFixtureModel('tiny');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-serve-server-'));
  const png = readFileSync(await writeTestImage(path.join(dir, 'red.png'), { r: 220, g: 20, b: 30 }));
  redDataUrl = `data:image/png;base64,${png.toString('base64')}`;
});

const hello: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hello' }];

test('with an API key every endpoint but /health needs it, compared as a bearer token; --cors answers preflights', async () => {
  const serve = await startServe(model, ['--cors', 'http://app.test'], { SMOLVLM_API_KEY: 'sesame' });
  try {
    const health = await fetch(`${serve.url}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.headers.get('access-control-allow-origin'), 'http://app.test');
    const preflight = await fetch(`${serve.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'http://app.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://app.test');
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'authorization, content-type');
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }, { authorization: 'sesame' }, { authorization: 'Bearer sesame2' }];
    for (const headers of attempts) {
      const answer = await fetch(`${serve.url}/v1/models`, { headers });
      assert.equal(answer.status, 401, JSON.stringify(headers));
      const body = (await answer.json()) as { error: Record<string, unknown> };
      assert.deepEqual(body.error, { message: 'a valid API key is required: send the header "Authorization: Bearer <key>"', type: 'authentication_error', param: null, code: 'invalid_api_key' });
    }
    await assert.rejects(client(serve, 'wrong').chat.completions.create({ model: 'm', messages: hello, max_tokens: 2 }), OpenAI.AuthenticationError);
    const answer = await client(serve, 'sesame').chat.completions.create({ model: 'm', messages: hello, max_tokens: 2 });
    assert.equal(answer.choices.length, 1);
    assert.equal((await client(serve, 'sesame').models.list()).data.length, 1);
    assert.match(serve.logLines().join('\n'), / GET \/v1\/models 401 \d+ ms: a valid API key is required/);
  } finally {
    assert.equal(await serve.stop(), 0);
  }
});

test('bound to 0.0.0.0: http(s) image URLs are refused (nothing is fetched), data: URLs still work', async (t) => {
  let fetched = 0;
  // Without --cors: no CORS headers (checked below on the same server).
  const images = createServer((_req, res) => {
    fetched++;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  let serve: ServeProcess;
  try {
    serve = await startServe(model, ['--host', '0.0.0.0']);
  } catch (error) {
    images.close();
    t.skip(`cannot listen on 0.0.0.0 here: ${(error as Error).message.split('\n')[0]}`);
    return;
  }
  try {
    // Every request goes to 127.0.0.1: the server listens on all addresses, the traffic stays on loopback.
    const url = `http://127.0.0.1:${(images.address() as AddressInfo).port}/red.png`;
    const image = (u: string): OpenAI.Chat.Completions.ChatCompletionMessageParam[] => [{ role: 'user', content: [{ type: 'image_url', image_url: { url: u } }, { type: 'text', text: 'What?' }] }];
    await assert.rejects(client(serve).chat.completions.create({ model: 'm', messages: image(url), max_tokens: 2 }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.equal(error.param, 'messages[0].content[0].image_url.url');
      assert.equal(error.code, 'image_url_not_allowed');
      assert.match(error.message, /http\(s\) image URLs are refused by a server bound to a non-loopback address/);
      return true;
    });
    assert.equal(fetched, 0);
    const answer = await client(serve).chat.completions.create({ model: 'm', messages: image(redDataUrl), max_tokens: 2 });
    assert.equal(answer.choices.length, 1);
    const health = await fetch(`${serve.url}/health`, { headers: { origin: 'http://app.test' } });
    assert.equal(health.headers.get('access-control-allow-origin'), null);
  } finally {
    assert.equal(await serve.stop(), 0);
    images.close();
  }
});

/** Streams `maxTokens` of an answer the fixture makes long; calls `onFirst` at the first chunk. */
async function streamWhileStopping(serve: ServeProcess, maxTokens: number, onFirst: () => void) {
  const stream = await client(serve).chat.completions.create({
    model: 'm',
    messages: [{ role: 'user', content: 'Write a haiku about autumn.' }],
    max_tokens: maxTokens,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  });
  let usage: OpenAI.CompletionUsage | undefined;
  let chunks = 0;
  for await (const chunk of stream) {
    if (chunks++ === 0) onFirst();
    usage = chunk.usage ?? usage;
  }
  return usage;
}

test('SIGTERM stops accepting and lets a running stream finish; exit 0', async () => {
  const serve = await startServe(model, ['--dtype', 'fp32']);
  const usage = await streamWhileStopping(serve, 40, () => serve.child.kill('SIGTERM'));
  assert.equal(usage?.completion_tokens, 40, 'the whole answer arrived');
  assert.equal(await serve.exited, 0, serve.stderr());
  await assert.rejects(fetch(`${serve.url}/health`));
});

test('a second Ctrl+C ends running streams at once (they end as a normal stream); exit 0', async () => {
  const serve = await startServe(model, ['--dtype', 'fp32']);
  const whole = (await client(serve).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'Write a haiku about autumn.' }], max_tokens: 1000, temperature: 0 })).usage!.completion_tokens;
  const usage = await streamWhileStopping(serve, 1000, () => {
    serve.child.kill('SIGINT');
    setTimeout(() => serve.child.kill('SIGINT'), 20);
  });
  assert.ok(usage && usage.completion_tokens < whole, `stopped after ${usage?.completion_tokens} of ${whole} tokens`);
  assert.equal(await serve.exited, 0, serve.stderr());
});

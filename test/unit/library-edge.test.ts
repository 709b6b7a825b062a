/**
 * The library's edge: misuse from untyped JavaScript gives one USAGE SmolVLMError with a one-line
 * message naming the field (the rules the CLI applies to the same values), never a raw TypeError
 * or a silent empty answer.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { intraOpThreads } from '../../src/core/runtime.js';
import { SmolVLM, SmolVLMError, type GenerateRequest } from '../../src/index.js';

let modelDir: string;
let model: SmolVLM;

before(async () => {
  modelDir = await ensureFixtureModel('tiny');
  model = await SmolVLM.load(modelDir, { dtype: 'fp32', threads: 1 });
});

/** A USAGE SmolVLMError with one line that matches `pattern`. */
function usage(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof SmolVLMError, `not a SmolVLMError: ${String(error)}`);
    assert.equal(error.code, 'USAGE');
    assert.doesNotMatch(error.message, /\n/);
    assert.match(error.message, pattern);
    return true;
  };
}

/** Calls the API as untyped JavaScript would. */
const untyped = <T>(value: unknown): T => value as T;
const hello = [{ role: 'user' as const, content: 'Hello' }];

describe('SmolVLM.load', () => {
  test('without a directory, or with a number', async () => {
    await assert.rejects(SmolVLM.load(untyped(undefined)), usage(/model directory.*undefined/));
    await assert.rejects(SmolVLM.load(untyped(42)), usage(/model directory.*number \(42\)/));
  });

  test('bad options', async () => {
    await assert.rejects(SmolVLM.load(modelDir, untyped(null)), usage(/options must be an object/));
    await assert.rejects(SmolVLM.load(modelDir, { threads: 0 }), usage(/^threads must be an integer >= 1/));
    await assert.rejects(SmolVLM.load(modelDir, { visionTilesPerCall: -1 }), usage(/^visionTilesPerCall must be an integer >= 0/));
  });

  test('more threads than CPUs: capped, with one warning', async () => {
    const warnings: string[] = [];
    const loaded = await SmolVLM.load(modelDir, { dtype: 'fp32', threads: 100_000, onWarning: (m) => warnings.push(m) });
    assert.ok(loaded.contextLength > 0);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /100000 threads .* logical CPU/);
  });
});

describe('intraOpThreads', () => {
  test('caps at the logical CPUs and warns once', () => {
    const warnings: string[] = [];
    assert.equal(intraOpThreads(1000, (m) => warnings.push(m), 8), 8);
    assert.deepEqual(warnings, ['1000 threads asked for, but this machine has 8 logical CPUs; using 8']);
  });

  test('keeps a count within the CPUs, and picks a default when none is asked for', () => {
    const warn = () => assert.fail('no warning expected');
    assert.equal(intraOpThreads(8, warn, 8), 8);
    assert.equal(intraOpThreads(1, warn, 8), 1);
    const chosen = intraOpThreads(undefined, warn, 8);
    assert.ok(Number.isInteger(chosen) && chosen >= 1);
  });
});

describe('SmolVLM.generate', () => {
  const rejects = (request: unknown, pattern: RegExp) => assert.throws(() => model.generate(untyped<GenerateRequest>(request)), usage(pattern));

  test('no request, or messages that are not an array of messages', () => {
    rejects(undefined, /request object.*undefined/);
    rejects({ messages: 'hi' }, /^messages must be a non-empty array.*"hi"/);
    rejects({ messages: [] }, /^messages must be a non-empty array.*empty array/);
    rejects({ messages: [null] }, /^messages\[0\] must be an object/);
  });

  test('an unknown role, bad content and bad parts', () => {
    rejects({ messages: [{ role: 'bot', content: 'hi' }] }, /^messages\[0\]\.role must be "system", "user", "assistant", got the string "bot"/);
    rejects({ messages: [{ role: 'user', content: 42 }] }, /^messages\[0\]\.content must be a string or an array of parts/);
    rejects({ messages: [{ role: 'user', content: [{ type: 'image', image: null }] }] }, /^messages\[0\]\.content\[0\]\.image must be a path, URL.*got null/);
    rejects({ messages: [{ role: 'user', content: [{ type: 'text' }] }] }, /^messages\[0\]\.content\[0\]\.text must be a string/);
    rejects({ messages: [{ role: 'user', content: [{ type: 'video' }] }] }, /^messages\[0\]\.content\[0\]\.video must be a path, URL.*got undefined/);
    rejects({ messages: [{ role: 'user', content: [{ type: 'audio' }] }] }, /^messages\[0\]\.content\[0\]\.type must be "text", "image" or "video"/);
  });

  test('maxNewTokens 0, -5 or NaN (was a silent empty answer)', () => {
    for (const maxNewTokens of [0, -5, NaN, 1.5]) rejects({ messages: hello, maxNewTokens }, /^maxNewTokens must be an integer >= 1/);
  });

  test('settings follow the settings table: stop, sampling, image options', () => {
    rejects({ messages: hello, stop: [''] }, /^stop must be a list of non-empty strings/);
    rejects({ messages: hello, stop: 'END' }, /^stop must be a list of non-empty strings/);
    rejects({ messages: hello, sampling: { topP: 0 } }, /^sampling\.topP must be in \(0, 1\]/);
    rejects({ messages: hello, sampling: { temperature: -1 } }, /^sampling\.temperature must be a number >= 0/);
    rejects({ messages: hello, sampling: 'greedy' }, /^sampling must be an object/);
    rejects({ messages: hello, image: { longestEdge: 0 } }, /^image\.longestEdge must be an integer >= 1/);
    rejects({ messages: hello, image: { doImageSplitting: 'yes' } }, /^image\.doImageSplitting must be true or false/);
  });

  test('unknown request fields are refused (a top-level temperature was silently greedy)', () => {
    rejects({ messages: hello, temperature: 1 }, /^temperature belongs in sampling/);
    rejects({ messages: hello, maxTokens: 5 }, /^unknown request field "maxTokens" \(known: messages, maxNewTokens/);
  });

  test('callbacks, signal and cache of the wrong kind', () => {
    rejects({ messages: hello, onToken: 'log' }, /^onToken must be a function/);
    rejects({ messages: hello, signal: {} }, /^signal must be an AbortSignal/);
    rejects({ messages: hello, cache: {} }, /^cache must be a PromptCache/);
  });

  test('a valid request still answers', async () => {
    const result = await model.generate({ messages: hello, maxNewTokens: 2 }).result;
    assert.ok(result.ids.length >= 1 && result.ids.length <= 2);
  });
});

describe('SmolVLM.generateFromIds and prepareImage', () => {
  test('no ids, or ids that are not token ids', () => {
    assert.throws(() => model.generateFromIds([], undefined, 0), usage(/^ids must be a non-empty array of token ids/));
    assert.throws(() => model.generateFromIds(untyped(['a']), undefined, 0), usage(/^ids must be a non-empty array of token ids/));
    assert.throws(() => model.generateFromIds([1, 2], undefined, 0, { maxNewTokens: 0 }), usage(/^maxNewTokens must be an integer >= 1/));
  });

  test('an image that is no image source', async () => {
    await assert.rejects(model.prepareImage(untyped(null)), usage(/^an image must be a path, URL.*got null/));
  });
});

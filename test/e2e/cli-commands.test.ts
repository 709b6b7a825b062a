/** End-to-end: the built binary on the tiny fixture model, through pipes. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { ANSI_PATTERN, runCli, writeTestImage } from '../helpers/cli.js';

let model = '';
let dir = '';
let red = '';
let green = '';
let blue = '';
let server: Server;
let baseUrl = '';

before(async () => {
  model = await ensureFixtureModel('tiny');
  dir = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-cli-'));
  red = await writeTestImage(path.join(dir, 'red.png'), { r: 220, g: 20, b: 30 });
  green = await writeTestImage(path.join(dir, 'green.jpg'), { r: 20, g: 200, b: 40 }, 64, 96);
  blue = await writeTestImage(path.join(dir, 'blue.webp'), { r: 10, g: 30, b: 230 });
  const png = readFileSync(red);
  server = createServer((req, res) => {
    if (req.url === '/red.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
      res.end(png);
    } else {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html>not found</html>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Runs with the fixture as the model (through SMOLVLM_MODEL, the documented default). */
const smolvlm = (args: string[], options: Parameters<typeof runCli>[1] = {}) =>
  runCli(args, { ...options, env: { SMOLVLM_MODEL: model, ...options.env } });

function parseLines(stdout: string): Record<string, any>[] {
  return stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
}

describe('describe', () => {
  test('stdout holds only the answer, streamed, ending with a newline; nothing else, no ANSI codes', async () => {
    const plain = await smolvlm(['describe', red, '-n', '24']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /\n$/);
    assert.doesNotMatch(plain.stdout, ANSI_PATTERN);
    assert.doesNotMatch(plain.stderr, ANSI_PATTERN);
    assert.equal(plain.stderr, '');
    const json = await smolvlm(['describe', red, '-n', '24', '--json']);
    const [object] = parseLines(json.stdout);
    assert.equal(plain.stdout, `${object!.text}\n`);
  });

  test('--json has the documented fields; --verbose adds one stats line on stderr', async () => {
    const result = await smolvlm(['describe', red, '-n', '8', '--json', '--verbose']);
    assert.equal(result.code, 0, result.stderr);
    const lines = parseLines(result.stdout);
    assert.equal(lines.length, 1);
    const answer = lines[0]!;
    assert.equal(answer.model, model);
    assert.deepEqual(Object.keys(answer.dtype).sort(), ['decoder_model_merged', 'embed_tokens', 'vision_encoder']);
    assert.equal(answer.prompt, 'Can you describe this image?');
    // The object carries the answer that the plain output streams.
    const plain = await smolvlm(['describe', red, '-n', '8']);
    assert.equal(plain.stdout, answer.text.endsWith('\n') ? answer.text : `${answer.text}\n`);
    assert.ok(['eos', 'length', 'stop'].includes(answer.finish_reason));
    assert.equal(answer.images.length, 1);
    const image = answer.images[0];
    assert.equal(image.label, red);
    for (const key of ['tiles', 'rows', 'cols', 'tokens']) assert.equal(typeof image[key], 'number', key);
    assert.ok(image.tiles > 1, 'the default splits the image into tiles');
    assert.deepEqual(answer.usage.tiles, [image.tiles]);
    assert.ok(answer.usage.prompt_tokens > answer.usage.image_tokens && answer.usage.image_tokens > 0);
    assert.ok(answer.usage.completion_tokens >= 1 && answer.usage.completion_tokens <= 8);
    for (const key of ['load_ms', 'encode_ms', 'prefill_tokens_per_second', 'first_token_ms', 'decode_tokens_per_second', 'total_ms']) {
      assert.equal(typeof answer.timings[key], 'number', key);
    }
    assert.match(result.stderr.trim(), /^load \d+ ms · 1 image: \d+ tiles, \d+ tokens · .*encode \d+ ms · prefill \d+ tokens at [\d.]+ tok\/s · first token \d+ ms · decode \d+ tokens at [\d.]+ tok\/s/);
  });

  test('two images with --json: one object per line, in order; --prompt overrides the question', async () => {
    const result = await smolvlm(['describe', red, green, '--json', '-n', '6', '--prompt', 'What colour?']);
    assert.equal(result.code, 0, result.stderr);
    const lines = parseLines(result.stdout);
    assert.deepEqual(lines.map((l) => l.images[0].label), [red, green]);
    assert.deepEqual(lines.map((l) => l.prompt), ['What colour?', 'What colour?']);
  });

  test('several images without --json: headers go to stderr in a pipe; a bad image is reported, the others answered, exit 1', async () => {
    const missing = path.join(dir, 'missing.png');
    const result = await smolvlm(['describe', red, missing, green, '-n', '4']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`==> ${red} <==`));
    assert.match(result.stderr, /image not found: .*missing\.png/);
    assert.doesNotMatch(result.stdout, /==>/);
    assert.equal(result.stdout.split('\n').length >= 3, true);
  });

  test('an image from stdin ("-") and from a URL on a local server', async () => {
    const fromFile = await smolvlm(['describe', red, '--json', '-n', '6']);
    const fromStdin = await smolvlm(['describe', '-', '--json', '-n', '6'], { stdin: readFileSync(red) });
    const fromUrl = await smolvlm(['describe', `${baseUrl}/red.png`, '--json', '-n', '6']);
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal(fromUrl.code, 0, fromUrl.stderr);
    const [file] = parseLines(fromFile.stdout);
    const [stdin] = parseLines(fromStdin.stdout);
    const [url] = parseLines(fromUrl.stdout);
    assert.equal(stdin!.images[0].label, 'stdin');
    assert.equal(url!.images[0].label, `${baseUrl}/red.png`);
    assert.equal(stdin!.text, file!.text);
    assert.equal(url!.text, file!.text);
  });
});

describe('ask', () => {
  test('text only: no image, the question as the only argument', async () => {
    const result = await smolvlm(['ask', 'Write a haiku about autumn.', '--json', '-n', '8']);
    assert.equal(result.code, 0, result.stderr);
    const [answer] = parseLines(result.stdout);
    assert.deepEqual(answer!.images, []);
    assert.equal(answer!.usage.image_tokens, 0);
    assert.equal(answer!.prompt, 'Write a haiku about autumn.');
  });

  test('several images go into one prompt; -q names the question', async () => {
    const result = await smolvlm(['ask', '-q', 'Which is brighter?', red, blue, '--json', '-n', '4']);
    assert.equal(result.code, 0, result.stderr);
    const lines = parseLines(result.stdout);
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0]!.images.map((i: { label: string }) => i.label), [red, blue]);
    assert.equal(lines[0]!.prompt, 'Which is brighter?');
  });

  test('the question from stdin when no image reads stdin', async () => {
    const viaStdin = await smolvlm(['ask', red, '--json', '-n', '6'], { stdin: 'What colour is this?\n' });
    const viaArg = await smolvlm(['ask', red, 'What colour is this?', '--json', '-n', '6']);
    assert.equal(viaStdin.code, 0, viaStdin.stderr);
    const [a] = parseLines(viaStdin.stdout);
    const [b] = parseLines(viaArg.stdout);
    assert.equal(a!.prompt, 'What colour is this?');
    assert.equal(a!.text, b!.text);
  });

  test('--stop ends the answer before the stop string', async () => {
    const args = ['ask', 'Tell me a long story', '--json', '-n', '64', '--repetition-penalty', '10'];
    const [full] = parseLines((await smolvlm(args)).stdout);
    const text = full!.text as string;
    const match = /[A-Za-z]{2,}/.exec(text.slice(4));
    assert.ok(match, `no word to stop at in ${JSON.stringify(text)}`);
    const stop = match[0];
    const result = await smolvlm([...args, '--stop', stop]);
    const [stopped] = parseLines(result.stdout);
    assert.equal(stopped!.finish_reason, 'stop');
    assert.equal(stopped!.text, text.slice(0, text.indexOf(stop)));
  });

  test('--seed makes sampling reproducible', async () => {
    const args = ['ask', 'Tell me a long story', '-n', '24', '--temperature', '1.2', '--seed', '7'];
    const first = await smolvlm(args);
    const second = await smolvlm(args);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, second.stdout);
  });
});

describe('story', () => {
  test('one prompt over three images in order, one tile each by default; --split turns tiling on', async () => {
    const result = await smolvlm(['story', red, green, blue, '--json', '-n', '8']);
    assert.equal(result.code, 0, result.stderr);
    const lines = parseLines(result.stdout);
    assert.equal(lines.length, 1);
    const answer = lines[0]!;
    assert.deepEqual(answer.images.map((i: { label: string }) => i.label), [red, green, blue]);
    assert.deepEqual(answer.usage.tiles, [1, 1, 1]);
    assert.match(answer.prompt, /story/);
    const split = await smolvlm(['story', red, green, blue, '--json', '-n', '2', '--split']);
    const [tiled] = parseLines(split.stdout);
    assert.ok(tiled!.usage.tiles.every((t: number) => t > 1));
  });
});

describe('help', () => {
  test('each command shows examples and the exit codes; --help exits 0', async () => {
    for (const command of ['describe', 'ask', 'story']) {
      const result = await runCli([command, '--help']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, /Examples:/);
      assert.match(result.stdout, /Exit codes:[\s\S]*130/);
      assert.match(result.stdout, /--max-tokens/);
    }
  });
});

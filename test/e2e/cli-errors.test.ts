/** End-to-end: each class of bad input gives one clear line on stderr and its documented exit code. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli, writeTestImage, type CliResult } from '../helpers/cli.js';

let model = '';
let dir = '';
let image = '';

before(async () => {
  model = await ensureFixtureModel('tiny');
  dir = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-cli-errors-'));
  image = await writeTestImage(path.join(dir, 'ok.png'), { r: 100, g: 150, b: 200 });
});

/** One line `smolvlm: error: …` (plus, for usage errors, the --help hint), no stack trace, nothing on stdout. */
function assertOneLineError(result: CliResult, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, `exit code; stderr: ${result.stderr}`);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, /^smolvlm: error: /);
  assert.match(lines[0]!, pattern);
  assert.ok(lines.length <= 2, `at most the error and a hint: ${result.stderr}`);
  if (lines.length === 2) assert.match(lines[1]!, /--help/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

describe('runtime failures exit 1', () => {
  test('missing image file', async () => {
    const missing = path.join(dir, 'nope.jpg');
    assertOneLineError(await runCli(['describe', missing, '-m', model]), 1, /image not found: .*nope\.jpg/);
  });

  test('a directory given as the image', async () => {
    assertOneLineError(await runCli(['ask', dir, 'What is it?', '-m', model]), 1, /is a directory/);
  });

  test('bytes that are not an image', async () => {
    const text = path.join(dir, 'notes.png');
    writeFileSync(text, 'these are not the pixels you are looking for\n');
    assertOneLineError(await runCli(['describe', text, '-m', model]), 1, /notes\.png is not a supported image/);
  });

  test('empty stdin for "-"', async () => {
    assertOneLineError(await runCli(['describe', '-', '-m', model], { stdin: '' }), 1, /stdin is empty/);
  });

  test('an unknown model: a missing directory, and a Hub id absent from the cache offline', async () => {
    assertOneLineError(await runCli(['describe', image, '-m', path.join(dir, 'no-model')]), 1, /no-model/);
    const hub = await runCli(['describe', image, '-m', 'nobody/NoSuchModel']);
    assertOneLineError(hub, 1, /nobody\/NoSuchModel/);
  });

  test('an image URL that answers 404', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html>not here</html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cat.jpg`;
      assertOneLineError(await runCli(['describe', url, '-m', model]), 1, /could not download .*cat\.jpg: HTTP 404/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('with --json the error is a JSON object on stderr', async () => {
    const result = await runCli(['describe', path.join(dir, 'gone.webp'), '-m', model, '--json']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    const parsed = JSON.parse(result.stderr) as { error: { code: string; message: string } };
    assert.equal(parsed.error.code, 'IMAGE_NOT_FOUND');
    assert.match(parsed.error.message, /gone\.webp/);
  });

  test('--verbose adds the stack trace', async () => {
    const result = await runCli(['describe', path.join(dir, 'gone.webp'), '-m', model, '--verbose']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\n\s+at /);
  });
});

describe('usage errors exit 2', () => {
  test('a bad option value names the flag', async () => {
    assertOneLineError(await runCli(['describe', image, '-m', model, '--top-p', '2']), 2, /--top-p.*'2'.*\(0, 1\]/);
    assertOneLineError(await runCli(['ask', 'hi', '--max-tokens', 'lots']), 2, /--max-tokens.*Not a number/);
    assertOneLineError(await runCli(['ask', 'hi', '--dtype', 'fp64']), 2, /--dtype.*unknown dtype "fp64"/);
  });

  test('a bad option value with --json is a JSON object', async () => {
    const result = await runCli(['ask', 'hi', '--temperature', '-1', '--json']);
    assert.equal(result.code, 2);
    const parsed = JSON.parse(result.stderr) as { error: { code: string; message: string } };
    assert.equal(parsed.error.code, 'USAGE');
    assert.match(parsed.error.message, /--temperature/);
  });

  test('missing question', async () => {
    assertOneLineError(await runCli(['ask', image, '-m', model], { stdin: '' }), 2, /missing question/);
    assertOneLineError(await runCli(['ask', '-', '-m', model], { stdin: 'abc' }), 2, /missing question/);
  });

  test('missing image argument, unknown command, "-" twice', async () => {
    assertOneLineError(await runCli(['describe']), 2, /missing required argument/);
    assertOneLineError(await runCli(['describ', image]), 2, /unknown command/);
    assertOneLineError(await runCli(['story', '-', '-', '-m', model]), 2, /only once/);
  });
});

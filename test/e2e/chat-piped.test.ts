/**
 * `smolvlm chat` with stdin not a terminal: every line (or """ block) is a turn, answers on stdout,
 * everything else on stderr. Runs the built binary (npm run build) on the fixture model.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { repoRoot } from '../helpers/shared.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-chat-piped-'));
const home = path.join(tmp, 'home');
let modelDir: string;
let image: string;

before(async () => {
  modelDir = await ensureFixtureModel('tiny');
  mkdirSync(home);
  image = path.join(home, 'my picture.png');
  const pixels = Buffer.alloc(64 * 48 * 3);
  for (let i = 0; i < 64 * 48; i++) pixels.set([(i * 7) % 256, (i * 13) % 256, (i * 29) % 256], i * 3);
  await sharp(pixels, { raw: { width: 64, height: 48, channels: 3 } }).png().toFile(image);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function chat(args: string[], input: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'smolvlm.js'), 'chat', '--model', modelDir, '--dtype', 'fp32', '--threads', '1', ...args], {
      cwd: tmp,
      env: { ...process.env, HOME: home, XDG_STATE_HOME: path.join(tmp, 'state'), NO_COLOR: '1', SMOLVLM_MODEL: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

interface Answer {
  prompt: string;
  text: string;
  finish_reason: string;
  cached_tokens: number;
  images: unknown[];
  usage: { prompt_tokens: number; completion_tokens: number };
}

const answers = (run: Run): Answer[] =>
  run.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Answer);

describe('smolvlm chat, piped', () => {
  test('each line and each """ block is a turn; follow-ups reuse the cache; stdout holds only the answers', async () => {
    const input = ['What is this?', 'And the colours?', '"""', 'First line', '', 'second line', '"""', '"""One-line block"""', ''].join('\n');
    const json = await chat(['-n', '6', '--json'], input);
    assert.equal(json.code, 0, json.stderr);
    const turns = answers(json);
    assert.deepEqual(
      turns.map((t) => t.prompt),
      ['What is this?', 'And the colours?', 'First line\n\nsecond line', 'One-line block'],
    );
    for (let i = 1; i < turns.length; i++) {
      assert.ok(turns[i]!.usage.prompt_tokens > turns[i - 1]!.usage.prompt_tokens);
      assert.ok(turns[i]!.cached_tokens >= turns[i - 1]!.usage.prompt_tokens, `turn ${i + 1}: ${turns[i]!.cached_tokens} cached`);
    }

    const plain = await chat(['-n', '6'], input);
    assert.equal(plain.code, 0, plain.stderr);
    const expected = turns.map((t) => {
      const shown = t.text.trimStart();
      return shown.endsWith('\n') ? shown : `${shown}\n`;
    });
    assert.equal(plain.stdout, expected.join(''));
    assert.doesNotMatch(plain.stdout + plain.stderr, /\u001b\[|>>> /);
  });

  test('images: given at start, named in a message (~, \\ escapes), /image; a missing one is reported', async () => {
    const input = [
      'Describe it.',
      '~/my\\ picture.png and this one?',
      'nothere.png what is it?',
      '/image nothere.jpg',
      `/image "${image}"`,
      '/images',
      'With the attached one.',
      '',
    ].join('\n');
    const run = await chat(['-n', '3', '--json', '--no-split', image], input);
    assert.equal(run.code, 0, run.stderr);
    const turns = answers(run);
    assert.deepEqual(
      turns.map((t) => t.images.length),
      [1, 2, 2, 3],
    );
    assert.equal(turns[1]!.prompt, 'and this one?');
    assert.equal(turns[2]!.prompt, 'nothere.png what is it?');
    assert.match(run.stderr, /no such image: nothere\.png/);
    assert.match(run.stderr, /nothere\.jpg/);
    assert.match(run.stderr, /2\. my picture\.png \(1 tile, \d+ tokens\) \[message 3\]\n3\. my picture\.png \(1 tile, \d+ tokens\) \[next message\]/);
  });

  test('/set changes the settings, bad values and unknown commands are hints, /exit ends; exit code 2 for the refused lines', async () => {
    const input = [
      '/set max_tokens 2',
      '/set top_p 3',
      '/set frobnicate 1',
      '/sett temperature 1',
      '/foo',
      'Hello there.',
      '/set max_tokens default',
      '/set temperature 0.8',
      '/set seed 42',
      '/show',
      '/stats',
      '/help',
      '/exit',
      'never sent',
      '',
    ].join('\n');
    const run = await chat(['--json'], input);
    assert.equal(run.code, 2, run.stderr);
    const turns = answers(run);
    assert.equal(turns.length, 1);
    assert.ok(turns[0]!.usage.completion_tokens <= 2);
    // --json: errors are JSON objects on stderr too.
    assert.match(run.stderr, /invalid top_p \\"3\\"/);
    assert.match(run.stderr, /unknown parameter \\"frobnicate\\"/);
    assert.match(run.stderr, /unknown command \/sett \(did you mean \/set\?\)/);
    assert.match(run.stderr, /unknown command \/foo; type \/help/);
    assert.match(run.stderr, /max_tokens\s+512/);
    assert.match(run.stderr, /temperature\s+0\.8/);
    assert.match(run.stderr, /seed\s+42/);
    assert.match(run.stderr, /context: \d+ \/ \d+ tokens used/);
    assert.match(run.stderr, /\/retry/);
  });

  test('a refused turn prints nothing on stdout; a 3 MB line is refused by its length before it is tokenized', async () => {
    // About 9000 tokens: tokenized, then refused by the conversation (the fixture's context is 8192).
    const tooManyTokens = 'word '.repeat(9000);
    const huge = 'x'.repeat(3 * 1024 * 1024);
    const run = await chat(['-n', '4'], `${tooManyTokens}\n${huge}\n`);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stdout, '');
    const errors = run.stderr.trimEnd().split('\n');
    assert.equal(errors.length, 2, run.stderr);
    assert.match(errors[0]!, /^smolvlm: error: this turn needs \d+ prompt tokens/);
    assert.match(errors[1]!, /^smolvlm: error: the message is 3145728 characters long, more than the context of 8192 tokens can hold \(messages are limited to 16 characters per token of context: 131072\)$/);
  });

  test('/save then /load in a new session continues the conversation exactly', async () => {
    const json = path.join(tmp, 'saved.json');
    const md = path.join(tmp, 'saved.md');
    const a = await chat(['-n', '5', '--json', '--system', 'Be short.', image], ['What is this?', 'Why?', '/save saved.json', '/save saved.md', 'And then?', ''].join('\n'));
    assert.equal(a.code, 0, a.stderr);
    const transcript = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(transcript.format, 'smolvlm-chat');
    assert.deepEqual(
      transcript.messages.map((m: { role: string }) => m.role),
      ['system', 'user', 'assistant', 'user', 'assistant'],
    );
    assert.equal(transcript.messages[1].images[0].path, image);
    assert.equal(transcript.settings.max_tokens, 5);
    assert.match(readFileSync(md, 'utf8'), /## User\n\n!\[my picture\.png\]/);

    const b = await chat(['--json'], ['/clear', '/load saved.json', '/stats', 'And then?', ''].join('\n'));
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /loaded 4 messages and 1 image/);
    const last = answers(a).at(-1)!;
    const continued = answers(b)[0]!;
    assert.equal(continued.text, last.text);
    assert.equal(continued.usage.prompt_tokens, last.usage.prompt_tokens);

    const bad = await chat([], ['/load nothing.json', '/load saved.md', 'Still fine?', ''].join('\n'));
    assert.equal(bad.code, 2, 'a piped session whose commands were refused exits 2, after answering the rest');
    assert.match(bad.stderr, /no such file: nothing\.json/);
    assert.match(bad.stderr, /saved\.md is not a JSON transcript/);
    assert.notEqual(bad.stdout, '');
  });
  test("Ollama's spellings: /set parameter, /set system, /set verbose|quiet, /show info|parameters|system, /bye; /load of a model name", async () => {
    const input = [
      '/set parameter max_tokens 3',
      '/set system Answer in French.',
      '/show system',
      '/show parameters',
      '/show info',
      '/set verbose',
      'Hello?',
      '/set quiet',
      'Again?',
      '/load 256m',
      '/show nonsense',
      '/bye',
      'never sent',
      '',
    ].join('\n');
    const run = await chat([], input);
    assert.equal(run.code, 2, `/load 256m and /show nonsense are refused: ${run.stderr}`);
    assert.match(run.stderr, /system message set/);
    assert.match(run.stderr, /system: Answer in French\./);
    assert.match(run.stderr, /max_tokens\s+3\n/);
    assert.match(run.stderr, /^dtype +vision_encoder=fp32, embed_tokens=fp32, decoder_model_merged=fp32$/m);
    assert.match(run.stderr, /^files +\S+/m);
    assert.match(run.stderr, /^ {2}decoder_model_merged +onnx[/\\]decoder_model_merged\.onnx$/m);
    // Timings after the first answer only (verbose, then quiet).
    assert.equal(run.stderr.match(/· finish /g)?.length, 1, run.stderr);
    assert.match(run.stderr, /no such file: 256m; \/load restores a chat transcript \(\.json\)\. "256m" names a model: to chat with it, quit and run `smolvlm chat --model 256m`/);
    assert.match(run.stderr, /\/show takes nothing or one of info, parameters, system, not "nonsense"/);
    assert.equal(run.stdout.includes('never sent'), false);
  });
});

/**
 * `smolvlm chat` in a real terminal: tmux runs the built binary in a pseudo-terminal, send-keys
 * types, capture-pane reads the screen. Skipped (with a message) when tmux is not installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { Conversation, SmolVLM } from '../../src/index.js';
import { repoRoot } from '../helpers/shared.js';

const hasTmux = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
const skip = hasTmux ? false : 'skipped: tmux is not installed (apt-get install -y tmux)';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-chat-pty-'));
const socket = path.join(tmp, 'tmux.sock');
const state = path.join(tmp, 'state');
const home = path.join(tmp, 'home');
const image = path.join(home, 'my picture.png');
const WAIT_MS = 60_000;
/** A message whose greedy answer runs long (found in before(): the fixture model's answers usually end soon). */
let longPrompt = '';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function tmux(...args: string[]): string {
  const result = spawnSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tmux ${args[0]} failed: ${result.stderr}`);
  return result.stdout;
}

/** The whole pane, scrollback included, wrapped lines joined, trailing blank lines dropped. */
const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'chat').replace(/\s+$/, '');
const promptsIn = (text: string) => text.split('\n').filter((l) => /^>>>( |$)/.test(l)).length;
const prompts = () => promptsIn(screen());
/** True when `text` shows `count` prompt lines and waits at the last one. */
const idleAt = (text: string, count: number) => promptsIn(text) === count && text.split('\n').at(-1) === '>>>';

async function waitFor(what: string, ok: (text: string) => boolean, timeoutMs = WAIT_MS): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen();
    if (ok(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Types a line and waits until it has been handled (a new idle prompt). */
async function enter(text: string): Promise<string> {
  const before = prompts();
  tmux('send-keys', '-t', 'chat', '-l', text);
  tmux('send-keys', '-t', 'chat', 'Enter');
  return waitFor(`the prompt after "${text}"`, (s) => idleAt(s, before + 1));
}

/** What the screen shows after the last line that starts with `>>> ${text}`. */
function outputAfter(text: string, screenText: string): string {
  const all = screenText.split('\n');
  const at = all.findLastIndex((l) => l === `>>> ${text}`);
  assert.ok(at >= 0, `"${text}" not on the screen:\n${screenText}`);
  const end = all.findIndex((l, i) => i > at && /^>>>( |$)/.test(l));
  return all.slice(at + 1, end === -1 ? undefined : end).join('\n');
}

describe('smolvlm chat in a terminal (tmux)', { skip }, () => {
  before(async () => {
    const modelDir = await ensureFixtureModel('tiny');
    mkdirSync(home);
    const pixels = Buffer.alloc(64 * 48 * 3);
    for (let i = 0; i < 64 * 48; i++) pixels.set([(i * 7) % 256, (i * 13) % 256, (i * 29) % 256], i * 3);
    await sharp(pixels, { raw: { width: 64, height: 48, channels: 3 } }).png().toFile(image);
    const model = await SmolVLM.load(modelDir, { dtype: 'fp32', threads: 1 });
    for (const candidate of ['Go on and on.', 'Repeat forever.', 'Write a long poem.', 'Keep talking.', 'Tell me everything.']) {
      const chat = new Conversation(model, { settings: { maxTokens: 8 } });
      await chat.ask('What is this?', [image]).result;
      chat.updateSettings({ maxTokens: 300 });
      if ((await chat.ask(candidate).result).finishReason === 'length') {
        longPrompt = candidate;
        break;
      }
    }
    assert.ok(longPrompt, 'no candidate message gets a long answer from the fixture model');
    const env = { HOME: home, XDG_STATE_HOME: state, SMOLVLM_MODEL: '' };
    const command = [
      'env',
      ...Object.entries(env).map(([k, v]) => quote(`${k}=${v}`)),
      quote(process.execPath),
      quote(path.join(repoRoot, 'bin', 'smolvlm.js')),
      'chat',
      '--model',
      quote(modelDir),
      '--dtype fp32 --threads 1 -n 8',
    ].join(' ');
    // The shell stays after the chat exits so that its exit code can be read from the pane.
    tmux('new-session', '-d', '-s', 'chat', '-x', '150', '-y', '50', '-c', tmp, `${command}; echo "[exit $?]"; sleep 600`);
    tmux('set-option', '-t', 'chat', 'history-limit', '50000');
    await waitFor('the first prompt', (s) => s.includes('smolvlm chat with') && s.split('\n').at(-1) === '>>>');
  });

  after(() => {
    if (hasTmux) spawnSync('tmux', ['-S', socket, 'kill-server'], { stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
  });

  test('a session: dragged-in image, /retry, /set with Tab completion, Ctrl+C mid-answer, /save, /load, /exit', async () => {
    // A file dragged into a terminal arrives quoted.
    const first = await enter(`${quote(image)} What is this?`);
    const answer = outputAfter(`${quote(image)} What is this?`, first);
    assert.notEqual(answer.trim(), '');

    const retried = outputAfter('/retry', await enter('/retry'));
    assert.equal(retried, answer, 'greedy /retry gives the same answer');

    // Tab completes the /set parameter name.
    const beforeTab = prompts();
    tmux('send-keys', '-t', 'chat', '-l', '/set max_t');
    tmux('send-keys', '-t', 'chat', 'Tab');
    tmux('send-keys', '-t', 'chat', '-l', ' 8000');
    tmux('send-keys', '-t', 'chat', 'Enter');
    const set = await waitFor('the prompt after /set', (s) => idleAt(s, beforeTab + 1));
    assert.match(outputAfter('/set max_tokens 8000', set), /max_tokens = 8000/);

    // A long answer, stopped as soon as it has started to stream.
    const prompt = longPrompt;
    const before = prompts();
    tmux('send-keys', '-t', 'chat', '-l', prompt);
    tmux('send-keys', '-t', 'chat', 'Enter');
    await waitFor('the answer to stream', (s) => {
      const after = outputAfter(prompt, s).replace(/^.*Thinking.*$/m, '');
      return after.replace(/\s/g, '').length >= 5;
    });
    tmux('send-keys', '-t', 'chat', 'C-c');
    const stopped = await waitFor('the prompt after Ctrl+C', (s) => idleAt(s, before + 1));
    assert.match(outputAfter(prompt, stopped), /\(stopped; the partial answer is kept/);

    // The conversation survived: its transcript has the partial answer.
    await enter('/save talk.json');
    const saved = JSON.parse(readFileSync(path.join(tmp, 'talk.json'), 'utf8'));
    assert.deepEqual(
      saved.messages.map((m: { role: string }) => m.role),
      ['user', 'assistant', 'user', 'assistant'],
    );
    const partial = saved.messages[3];
    assert.equal(partial.finish_reason, 'aborted');
    assert.ok(partial.text.length > 0 && partial.text.length < 8000);
    assert.equal(saved.messages[0].images[0].path, image);
    assert.equal(saved.settings.max_tokens, 8000);

    // Ctrl+C at an empty prompt explains how to quit.
    const beforeHint = prompts();
    tmux('send-keys', '-t', 'chat', 'C-c');
    const hinted = await waitFor('the quit hint', (s) => idleAt(s, beforeHint + 1));
    assert.match(hinted, /To exit, press Ctrl\+C again, Ctrl\+D or type \/exit/);

    assert.match(outputAfter('/clear', await enter('/clear')), /conversation cleared/);
    assert.match(outputAfter('/load talk.json', await enter('/load talk.json')), /loaded 4 messages and 1 image/);
    assert.match(outputAfter('/images', await enter('/images')), /1\. my picture\.png \(.*tokens\) \[message 1\]/);
    assert.match(outputAfter('/stats', await enter('/stats')), /context: \d+ \/ 8192 tokens used/);
    await enter('Thanks.');

    tmux('send-keys', '-t', 'chat', '-l', '/exit');
    tmux('send-keys', '-t', 'chat', 'Enter');
    await waitFor('the exit code', (s) => s.includes('[exit 0]'));

    const history = readFileSync(path.join(state, 'smolvlm', 'history'), 'utf8');
    assert.match(history, /^\/set max_tokens 8000$/m);
    assert.ok(history.split('\n').includes(longPrompt));
  });
});

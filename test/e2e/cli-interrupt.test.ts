/**
 * End-to-end: Ctrl+C (SIGINT) or SIGTERM mid-answer keeps what was printed, ends the line and exits
 * with the signal's code (130, 143), in a one-shot command and in a piped chat.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';

const skip = process.platform === 'win32';

/**
 * Runs a long answer for each question until one is still streaming when `signal` arrives (sent as
 * soon as output starts); undefined when every answer ended first. A high repetition penalty (the
 * end-of-utterance is in the prompt) keeps the fixture model from ending its answer for thousands of tokens.
 */
async function stopMidAnswer(args: (question: string) => string[], signal: NodeJS.Signals, stdin?: (question: string) => string): Promise<CliResult | undefined> {
  const model = await ensureFixtureModel('tiny');
  for (const question of ['Tell me a long story', 'Describe the sea at length', 'Count to a thousand']) {
    let sent = false;
    const result = await runCli([...args(question), '-m', model, '--max-tokens', '100000', '--repetition-penalty', '10'], {
      ...(stdin ? { stdin: stdin(question) } : {}),
      onStdout: (_chunk, child) => {
        if (sent) return;
        sent = true;
        child.kill(signal);
      },
    });
    if (result.code === 0) continue; // the answer ended before the signal arrived
    assert.ok(sent, 'output started');
    return result;
  }
  return undefined;
}

function assertStoppedCleanly(result: CliResult | undefined, code: number): void {
  assert.ok(result, 'every answer ended before the signal arrived');
  assert.equal(result.code, code, result.stderr);
  assert.ok(result.stdout.length > 1, 'what was generated stays printed');
  assert.match(result.stdout, /\n$/);
  assert.doesNotMatch(result.stderr, /error/);
}

test('SIGINT during generation: partial answer kept with a final newline, exit 130', { skip }, async () => {
  assertStoppedCleanly(await stopMidAnswer((q) => ['ask', q], 'SIGINT'), 130);
});

test('SIGTERM is handled like Ctrl+C: partial answer kept with a final newline, exit 143', { skip }, async () => {
  assertStoppedCleanly(await stopMidAnswer((q) => ['ask', q], 'SIGTERM'), 143);
});

test('SIGTERM in a piped chat: the answer ends with its newline, exit 143', { skip }, async () => {
  assertStoppedCleanly(await stopMidAnswer(() => ['chat'], 'SIGTERM', (q) => `${q}\n`), 143);
});

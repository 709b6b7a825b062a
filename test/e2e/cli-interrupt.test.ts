/** End-to-end: Ctrl+C (SIGINT) mid-answer keeps what was printed, ends the line and exits 130. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli } from '../helpers/cli.js';

test('SIGINT during generation: partial answer kept with a final newline, exit 130', { skip: process.platform === 'win32' }, async () => {
  const model = await ensureFixtureModel('tiny');
  // A high repetition penalty (end-of-utterance is in the prompt) keeps the fixture model from ending
  // its answer for thousands of tokens; should one prompt still end early, the next is tried.
  for (const question of ['Tell me a long story', 'Describe the sea at length', 'Count to a thousand']) {
    let sent = false;
    const result = await runCli(['ask', question, '-m', model, '--max-tokens', '100000', '--repetition-penalty', '10'], {
      onStdout: (_chunk, child) => {
        if (sent) return;
        sent = true;
        child.kill('SIGINT');
      },
    });
    if (result.code === 0) continue; // the answer ended before the signal arrived
    assert.ok(sent, 'output started');
    assert.equal(result.code, 130, result.stderr);
    assert.ok(result.stdout.length > 1, 'what was generated stays printed');
    assert.match(result.stdout, /\n$/);
    assert.doesNotMatch(result.stderr, /error/);
    return;
  }
  assert.fail('every answer ended before SIGINT arrived');
});

/** End-to-end: Ctrl+C (SIGINT) mid-answer keeps what was printed, ends the line and exits 130. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli } from '../helpers/cli.js';

test('SIGINT during generation: partial answer kept with a final newline, exit 130', { skip: process.platform === 'win32' }, async () => {
  const model = await ensureFixtureModel('tiny');
  let sent = false;
  // A high repetition penalty keeps the fixture model from reaching end-of-sequence for thousands of tokens.
  const result = await runCli(['ask', 'Tell me a long story', '-m', model, '--max-tokens', '100000', '--repetition-penalty', '10'], {
    onStdout: (_chunk, child) => {
      if (sent) return;
      sent = true;
      child.kill('SIGINT');
    },
  });
  assert.ok(sent, 'output started');
  assert.equal(result.code, 130, result.stderr);
  assert.ok(result.stdout.length > 1, 'what was generated stays printed');
  assert.match(result.stdout, /\n$/);
  assert.doesNotMatch(result.stderr, /error/);
});

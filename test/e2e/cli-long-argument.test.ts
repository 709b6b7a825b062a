/**
 * End-to-end: a command-line word of 100 KB. onnxruntime's Linux telemetry used to read
 * /proc/self/cmdline while creating a session and crash on such a line (exit 139, nothing printed);
 * src/core/ort-env.ts turns the telemetry off before onnxruntime-node is imported.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli } from '../helpers/cli.js';

let model = '';

before(async () => {
  model = await ensureFixtureModel('tiny');
});

test('a 100 KB question given as an argument does not crash the process', async () => {
  const question = 'x'.repeat(100_000);
  const result = await runCli(['ask', question, '--model', model, '-n', '2'], { env: { ORT_DISABLE_TELEMETRY: undefined } });
  assert.equal(result.signal, null, `killed by ${result.signal}; stderr: ${result.stderr}`);
  assert.notEqual(result.code, 139, `segfault; stderr: ${result.stderr}`);
  // Either an answer (exit 0) or one clear line, e.g. that the question does not fit the context.
  assert.ok(result.code === 0 || /^smolvlm: error: /.test(result.stderr), `exit ${result.code}; stderr: ${result.stderr}`);
});

/** The README's library example, run as written against the fixture model. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli, writeTestImage } from '../helpers/cli.js';
import { repoRoot } from '../helpers/shared.js';

test('the README library example streams an answer', async () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Library'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'a js block under ## Library');
  assert.ok(code.split('\n').length <= 14, 'a short example');
  const model = await ensureFixtureModel('tiny');
  const image = await writeTestImage(path.join(mkdtempSync(path.join(os.tmpdir(), 'smolvlm-readme-')), 'photo.png'), { r: 90, g: 120, b: 40 });
  // Inside the checkout, so that `import 'smolvlm'` resolves to this package (self-reference through "exports").
  const scratch = path.join(repoRoot, '.cache');
  mkdirSync(scratch, { recursive: true });
  const script = path.join(scratch, `readme-example-${process.pid}.mjs`);
  writeFileSync(script, code);
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [script, model, image], { timeout: 60_000 });
    const tokens = /\n(\d+) tokens, [\d.]+ tokens\/s\n$/.exec(stderr)?.[1];
    assert.ok(tokens, stderr);
    // The same request through the CLI (greedy, the same prompt and token budget) gives the same answer.
    const cli = await runCli(['describe', image, '--model', model, '--max-tokens', '200', '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    const answer = JSON.parse(cli.stdout) as { text: string; usage: { completion_tokens: number } };
    assert.equal(stdout, answer.text);
    assert.equal(Number(tokens), answer.usage.completion_tokens);
  } finally {
    rmSync(script, { force: true });
  }
});

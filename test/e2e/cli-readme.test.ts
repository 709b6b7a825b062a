/** The README's library example, run as written against the fixture model. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { writeTestImage } from '../helpers/cli.js';
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
    assert.match(stderr, /\n\d+ tokens, [\d.]+ tokens\/s\n$/);
    assert.equal(typeof stdout, 'string');
  } finally {
    rmSync(script, { force: true });
  }
});

/**
 * End-to-end: `smolvlm caption --remote` against `smolvlm serve` (both on the tiny fixture): every
 * image gets its record, and each caption equals what the local `caption` writes for the same greedy
 * request (fp32, one sequence at a time on both sides, so the numbers are the same).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli, writeTestImage } from '../helpers/cli.js';
import { startServe, type ServeProcess } from '../helpers/serve.js';

let model = '';
let root = '';
let serve: ServeProcess;

before(async () => {
  model = await ensureFixtureModel('tiny');
  root = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-caption-serve-'));
  await writeTestImage(path.join(root, 'a.png'), { r: 220, g: 20, b: 30 });
  await writeTestImage(path.join(root, 'b.png'), { r: 20, g: 200, b: 40 }, 64, 96);
  await writeTestImage(path.join(root, 'c.png'), { r: 30, g: 40, b: 210 });
  serve = await startServe(model, ['--parallel', '1', '--dtype', 'fp32']);
});

after(async () => {
  assert.equal(await serve.stop(), 0, serve.stderr());
});

function records(file: string): Map<string, string> {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  return new Map(lines.map((line) => JSON.parse(line) as { file_name: string; text: string }).map((r) => [r.file_name, r.text]));
}

describe('caption --remote against smolvlm serve', () => {
  test('captions every image, with the local captions for the same greedy request', async () => {
    const common = ['--prompt', 'Caption this.', '--max-tokens', '8', '--temperature', '0'];
    const remote = await runCli(['caption', '.', '-o', 'remote.jsonl', '--remote', serve.url, '--remote-model', 'smolvlm', '--concurrency', '2', ...common], {
      cwd: root,
      env: { OPENAI_API_KEY: 'none' },
      timeoutMs: 120_000,
    });
    assert.equal(remote.code, 0, remote.stderr);
    const local = await runCli(['caption', '.', '-o', 'local.jsonl', '--batch', '1', '--dtype', 'fp32', '--model', model, ...common], { cwd: root, timeoutMs: 120_000 });
    assert.equal(local.code, 0, local.stderr);
    const fromServer = records(path.join(root, 'remote.jsonl'));
    const fromLocal = records(path.join(root, 'local.jsonl'));
    assert.deepEqual([...fromServer.keys()].sort(), ['a.png', 'b.png', 'c.png']);
    for (const [name, text] of fromLocal) assert.equal(fromServer.get(name), text, name);
  });
});

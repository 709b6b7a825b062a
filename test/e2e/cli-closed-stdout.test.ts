/**
 * End-to-end: a reader that closes the pipe early (`| head`) ends any command quietly: no stack
 * trace, nothing on stderr, exit 0 (the exit code so far).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { binPath, writeTestImage } from '../helpers/cli.js';

const skip = process.platform === 'win32' ? 'needs a POSIX shell' : false;
let model = '';
let image = '';

before(async () => {
  model = await ensureFixtureModel('tiny');
  image = await writeTestImage(path.join(mkdtempSync(path.join(os.tmpdir(), 'smolvlm-closed-')), 'p.png'), { r: 200, g: 30, b: 30 });
});

const env = () => ({ ...process.env, HF_HUB_OFFLINE: '1', NO_COLOR: '1', SMOLVLM_MODEL: '' });

describe('a closed stdout', { skip }, () => {
  test('`describe P P --json | head -c 5`: the last write fails (EPIPE) after the command has finished', () => {
    // bash's PIPESTATUS gives smolvlm's own exit code; its stderr goes to the test.
    const script = `"$0" "$1" describe "$2" "$2" --model "$3" --json -n 4 | head -c 5; exit "\${PIPESTATUS[0]}"`;
    const run = spawnSync('bash', ['-c', script, process.execPath, binPath, image, model], { encoding: 'utf8', env: env(), timeout: 120_000 });
    assert.equal(run.stdout, '{"mod');
    assert.equal(run.stderr, '');
    assert.equal(run.status, 0);
  });

  test('`--help` into a pipe closed before anything is written (inside commander)', async () => {
    const child = spawn(process.execPath, [binPath, '--help'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed at once: the help is written after node has started, into a pipe nobody reads.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});

/** The light commands: help, version, and the shell completion scripts (asked for completions in bash). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/shared.js';

const execFileAsync = promisify(execFile);

describe('help and version', () => {
  for (const args of [['help'], ['help', 'describe'], ['--help'], ['describe', '--help']]) {
    test(`smolvlm ${args.join(' ')} exits 0 with the help on stdout`, async () => {
      const result = await runCli(args);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^Usage: smolvlm/);
    });
  }

  test('the help examples name the sample photos that ship with the repository', async () => {
    const result = await runCli(['--help']);
    assert.match(result.stdout, /smolvlm describe fixtures\/images\/cat\.jpg/);
  });

  test('--version prints the bare version', async () => {
    const result = await runCli(['--version']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\S*\n$/);
  });

  test('version prints what a bug report needs, also as JSON', async () => {
    const text = await runCli(['version']);
    assert.equal(text.code, 0, text.stderr);
    for (const pattern of [/^smolvlm \d/m, /^Node\.js v\d/m, /^onnxruntime-node \d/m, /^sharp \d\S* \(libvips \d/m, /\d+ cores/, /^int8 kernels: /m]) {
      assert.match(text.stdout, pattern);
    }
    const json = await runCli(['version', '--json']);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(report.platform, process.platform);
    assert.equal(report.node, process.version);
    assert.equal(typeof report.cores, 'number');
  });

  test('--verbose after a failure adds the versions to the error', async () => {
    const result = await runCli(['describe', 'nope.jpg', '--verbose']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /image not found: nope\.jpg/);
    assert.match(result.stderr, /^onnxruntime-node \d/m);
  });
});

describe('shell completion', () => {
  let scratch = '';
  let script = '';
  before(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-completion-'));
    mkdirSync(path.join(scratch, 'hub', 'models--org--tiny'), { recursive: true });
    const result = await runCli(['completion', 'bash']);
    assert.equal(result.code, 0, result.stderr);
    script = path.join(scratch, 'smolvlm.bash');
    writeFileSync(script, result.stdout);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** What bash offers after `words` (the last one being completed), with the script sourced. */
  async function complete(...words: string[]): Promise<string[]> {
    const program = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _smolvlm; printf "%s\\n" "${COMPREPLY[@]}"';
    const { stdout } = await execFileAsync('bash', ['-c', program, 'bash', script, 'smolvlm', ...words], {
      cwd: repoRoot,
      env: { ...process.env, HF_HUB_CACHE: path.join(scratch, 'hub') },
    });
    return stdout.split('\n').filter((line) => line !== '');
  }

  test('commands, options and option values', async () => {
    assert.deepEqual(await complete('des'), ['describe']);
    assert.deepEqual(await complete('describe', '--dt'), ['--dtype']);
    assert.deepEqual(await complete('describe', '--dtype', 'ui'), ['uint8']);
    assert.deepEqual(await complete('ask', '-m', '25'), ['256m']);
    assert.deepEqual(await complete('completion', 'f'), ['fish']);
  });

  test('cached models for --model and for rm', async () => {
    assert.deepEqual(await complete('describe', '--model', 'org/'), ['org/tiny']);
    assert.deepEqual(await complete('rm', 'org/'), ['org/tiny']);
  });

  test('files for image arguments', async () => {
    assert.deepEqual(await complete('describe', 'fixtures/images/ca'), ['fixtures/images/cat.jpg']);
  });

  test('zsh and fish scripts name every command', async () => {
    for (const shell of ['zsh', 'fish']) {
      const result = await runCli(['completion', shell]);
      assert.equal(result.code, 0, result.stderr);
      for (const command of ['describe', 'ask', 'story', 'chat', 'models', 'completion']) assert.match(result.stdout, new RegExp(`\\b${command}\\b`));
    }
  });
});

/**
 * Slow (a few minutes: a build, then every dependency copied from npm's cache): the package as users get
 * it. `npm pack` (its prepack builds dist/), then `npm i -g <tgz>` into a temporary prefix with
 * onnxruntime-node's CUDA download skipped, then the installed `smolvlm` describes a sample photo with
 * the tiny fixture model. Dependencies come from npm's cache when present (--prefer-offline), else the
 * registry; where neither can provide them the test skips and says why.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { repoRoot } from '../helpers/shared.js';

const run = promisify(execFile);
const scratch = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-install-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** npm's words for "the registry cannot be reached". */
const OFFLINE = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|network request .* failed/i;

/** This environment without what `npm test` sets for its own script (a prefix, the package's paths). */
const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_(config|package|lifecycle)_/i.test(key)));
const env = { ...inherited, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

test('npm pack, npm i -g <tgz> into a temporary prefix, then the installed smolvlm describes a photo', { timeout: 15 * 60_000 }, async (t) => {
  const model = await ensureFixtureModel('tiny');
  const packDir = path.join(scratch, 'pack');
  const prefix = path.join(scratch, 'prefix');
  mkdirSync(packDir);
  await run('npm', ['pack', '--pack-destination', packDir], { cwd: repoRoot, env, maxBuffer: 64 << 20 });
  const tarballs = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
  assert.equal(tarballs.length, 1, tarballs.join(', '));
  const list = await run('tar', ['-tzf', path.join(packDir, tarballs[0]!)]);
  assert.match(list.stdout, /^package\/dist\/bundle\/cli\.js$/m, 'the package holds the CLI bundle bin/smolvlm.js runs');
  assert.match(list.stdout, /^package\/dist\/index\.js$/m, 'and the library');
  assert.doesNotMatch(list.stdout, /\.map$/m, 'no source maps in the package');

  try {
    await run('npm', ['i', '-g', path.join(packDir, tarballs[0]!), '--prefix', prefix, '--prefer-offline'], { cwd: scratch, env, maxBuffer: 64 << 20 });
  } catch (error) {
    const output = String((error as { stderr?: string }).stderr ?? error);
    if (OFFLINE.test(output)) return t.skip(`the dependencies could not be fetched: ${output.split('\n').find((l) => OFFLINE.test(l))}`);
    throw error;
  }

  const bin = path.join(prefix, process.platform === 'win32' ? 'smolvlm.cmd' : path.join('bin', 'smolvlm'));
  const image = path.join(repoRoot, 'fixtures', 'images', 'cat.jpg');
  const result = await run(bin, ['describe', image, '--model', model, '-n', '6'], { cwd: scratch, env: { ...env, HF_HUB_OFFLINE: '1' } });
  assert.match(result.stdout, /\S/);
  assert.match(result.stdout, /\n$/);
});

/**
 * End-to-end: a cache that cannot be written (SMOLVLM_CACHE naming a file, a HOME that does not exist
 * or cannot be written) does not stop a command: the model files load as they are, with one warning
 * naming the cache folder. Tests run as root, which may write anywhere, so the folders are made
 * unwritable by putting them under a regular file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli } from '../helpers/cli.js';

const aFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'smolvlm-unwritable-')), 'a-file');
writeFileSync(aFile, 'not a folder\n');

const cases: [string, Record<string, string | undefined>, string][] = [
  ['SMOLVLM_CACHE naming a file', { SMOLVLM_CACHE: aFile, XDG_CACHE_HOME: undefined }, path.join(aFile, 'optimized')],
  ['a HOME that cannot be created', { SMOLVLM_CACHE: undefined, XDG_CACHE_HOME: undefined, HOME: path.join(aFile, 'home') }, path.join(aFile, 'home', '.cache', 'smolvlm', 'optimized')],
  ['XDG_CACHE_HOME under a file', { SMOLVLM_CACHE: undefined, XDG_CACHE_HOME: path.join(aFile, 'xdg') }, path.join(aFile, 'xdg', 'smolvlm', 'optimized')],
];

for (const [name, env, folder] of cases) {
  test(`${name}: the answer comes, with one warning naming the cache folder`, async () => {
    const model = await ensureFixtureModel('tiny');
    const result = await runCli(['ask', 'hi', '-m', model, '-n', '3'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.length > 0);
    const warnings = result.stderr.split('\n').filter((line) => line.includes('optimized-graph cache'));
    assert.equal(warnings.length, 1, result.stderr);
    assert.ok(warnings[0]?.includes(folder), warnings[0]);
    assert.doesNotMatch(result.stderr, /error|ENOTDIR/);
  });
}

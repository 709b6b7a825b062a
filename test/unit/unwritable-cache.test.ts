/** The optimized-graph cache and the int8 probe's remembered answer where nothing can be written. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fsErrorReason } from '../../src/core/fs-errors.js';
import { detectInt8Kernels } from '../../src/core/int8-kernels.js';
import { usableOptimizedGraphCacheDir } from '../../src/core/optimized-graph-cache.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-unwritable-unit-'));
const aFile = path.join(scratch, 'a-file');
writeFileSync(aFile, 'x');

test('a cache folder under a file is not used, with one warning naming it', () => {
  const warnings: string[] = [];
  const dir = path.join(aFile, 'optimized');
  assert.equal(usableOptimizedGraphCacheDir(dir, (w) => warnings.push(w)), false);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', new RegExp(`cannot write the optimized-graph cache ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(a part of the path is a file`));
});

test('a writable cache folder is used, and false stays false without a warning', () => {
  const warnings: string[] = [];
  const dir = path.join(scratch, 'cache', 'optimized');
  assert.equal(usableOptimizedGraphCacheDir(dir, (w) => warnings.push(w)), dir);
  assert.equal(usableOptimizedGraphCacheDir(false, (w) => warnings.push(w)), false);
  assert.deepEqual(warnings, []);
});

test('the int8 probe answers when its remembered answer cannot be written', async () => {
  const report = await detectInt8Kernels({ cacheFile: path.join(aFile, 'int8-kernels.json'), probe: async () => true, env: {} });
  assert.equal(report.saturates, true);
  assert.equal(report.source, 'probe');
});

test('file-system errors in words', () => {
  const error = (code: string) => Object.assign(new Error(`${code}: raw`), { code });
  assert.equal(fsErrorReason(error('EACCES')), 'permission denied');
  assert.equal(fsErrorReason(error('EISDIR')), 'it is a folder');
  assert.equal(fsErrorReason(error('ENOENT')), 'no such file or folder');
  assert.equal(fsErrorReason(error('EWHATEVER')), 'EWHATEVER: raw');
  assert.equal(fsErrorReason('plain'), 'plain');
});

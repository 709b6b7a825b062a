/** One way to write sizes, for the library's messages and the command line's columns. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes } from '../../src/index.js';

test('formatBytes: bytes, binary units, a whole number drops its decimal unless fixed', () => {
  assert.equal(formatBytes(0), '0 bytes');
  assert.equal(formatBytes(512), '512 bytes');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(10 * 1024 * 1024), '10 MiB');
  assert.equal(formatBytes(10 * 1024 * 1024, { fixed: true }), '10.0 MiB');
  assert.equal(formatBytes(256 * 1024, { fixed: true }), '256 KiB');
  assert.equal(formatBytes(3 * 1024 ** 3), '3 GiB');
  assert.equal(formatBytes(-5), '0 bytes');
});

/** checkImageSource: the errors a later read would give, at once, without consuming what can be read once. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { checkImageSource } from '../../src/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-preflight-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);

test('a missing path, a directory and a text file fail with the codes reading them gives', async () => {
  await assert.rejects(checkImageSource('nope.jpg', { cwd: dir }), { code: 'IMAGE_NOT_FOUND', message: /image not found: nope\.jpg/ });
  await assert.rejects(checkImageSource(dir), { code: 'IMAGE_NOT_FOUND', message: /is a directory/ });
  writeFileSync(path.join(dir, 'notes.jpg'), 'just text\n');
  await assert.rejects(checkImageSource('notes.jpg', { cwd: dir }), { code: 'IMAGE_INVALID' });
  await assert.rejects(checkImageSource('data:image/png;base64,aGVsbG8='), { code: 'IMAGE_INVALID' });
});

test('an image file, and file:// URLs, pass', async () => {
  writeFileSync(path.join(dir, 'ok.png'), PNG);
  await checkImageSource('ok.png', { cwd: dir });
  await checkImageSource(`file://${path.join(dir, 'ok.png')}`);
});

test('stdin and http(s) URLs are left for the real read', async () => {
  const stdin = new PassThrough();
  await checkImageSource('-', { stdin });
  assert.equal(stdin.readableLength, 0);
  assert.equal(stdin.readableEnded, false, 'stdin was not read');
  await checkImageSource('http://127.0.0.1:9/nothing-listens-here.jpg');
});

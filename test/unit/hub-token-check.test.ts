/** A Hugging Face token that cannot go into an HTTP header is refused up front, without showing it. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isSmolVLMError } from '../../src/core/errors.js';
import { hubToken } from '../../src/core/hub/env.js';

test('a token with a line break inside is a USAGE error naming the variable, not the token', () => {
  assert.throws(
    () => hubToken({ HF_TOKEN: 'hf_secret\nmore' }),
    (error: unknown) => isSmolVLMError(error) && error.code === 'USAGE' && /^HF_TOKEN holds characters/.test(error.message) && !error.message.includes('secret'),
  );
});

test('surrounding whitespace and a final newline are trimmed, as huggingface_hub does', () => {
  assert.equal(hubToken({ HF_TOKEN: '  hf_abc\n' })?.token, 'hf_abc');
});

test('a token file with a space inside names the file', () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'smolvlm-token-')), 'token');
  writeFileSync(file, 'hf_a b\n');
  assert.throws(() => hubToken({ HF_TOKEN_PATH: file }), new RegExp(`the token file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} holds characters`));
});

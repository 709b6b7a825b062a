/** SmolVLM.load of a file (not a folder) says so, instead of "does not exist". */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isSmolVLMError } from '../../src/core/errors.js';
import { readModelDirectory } from '../../src/core/model-files/directory.js';

test('a model path that is a file is named as a file', () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'smolvlm-model-file-')), 'model.onnx');
  writeFileSync(file, 'x');
  assert.throws(() => readModelDirectory(file), (e: unknown) => isSmolVLMError(e) && e.code === 'MODEL_NOT_FOUND' && e.message.endsWith('is a file, not a model directory'));
  assert.throws(() => readModelDirectory(path.join(file, 'missing')), /does not exist/);
});

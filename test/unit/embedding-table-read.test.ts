import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmbeddingTable } from '../../src/core/embedding-table.js';
import { readModelDirectory } from '../../src/core/model-files/directory.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';

test('EmbeddingTable.readAsync gives the table EmbeddingTable.read gives (fp32, int8, fp16)', async () => {
  const dir = await ensureFixtureModel('tiny');
  for (const dtype of ['fp32', 'int8', 'fp16'] as const) {
    const file = readModelDirectory(dir, dtype).onnxPaths.embed_tokens;
    const sync = EmbeddingTable.read(file);
    const async = await EmbeddingTable.readAsync(file);
    assert.ok(typeof sync !== 'string' && typeof async !== 'string', `${dtype}: ${String(sync)} / ${String(async)}`);
    assert.equal(async.table.kind, sync.table.kind);
    const ids = [0, 1, 5, sync.vocabSize - 1];
    assert.deepEqual(async.embed(ids), sync.embed(ids));
  }
});

test('EmbeddingTable.readAsync says why a file is not a table lookup, as read does', async () => {
  const dir = await ensureFixtureModel('tiny');
  const decoder = readModelDirectory(dir, 'fp32').onnxPaths.decoder_model_merged;
  const reason = await EmbeddingTable.readAsync(decoder);
  assert.equal(typeof reason, 'string');
  assert.equal(reason, EmbeddingTable.read(decoder));
});

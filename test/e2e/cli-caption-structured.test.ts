/** `caption --schema`: each record carries the parsed answer as `data`, valid against the schema. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli, writeTestImage } from '../helpers/cli.js';

const schema = { type: 'object', properties: { label: { type: 'string', maxLength: 12 }, count: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['label', 'count'] };

let model = '';
let root = '';

before(async () => {
  model = await ensureFixtureModel('tiny');
  root = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-caption-schema-'));
  await writeTestImage(path.join(root, 'a.png'), { r: 220, g: 20, b: 30 });
  await writeTestImage(path.join(root, 'b.png'), { r: 20, g: 200, b: 40 });
});

describe('caption with structured output', () => {
  test('--schema: every complete record has data valid against the schema', async () => {
    const result = await runCli(['caption', '.', '-o', 'out.jsonl', '--schema', JSON.stringify(schema), '--max-tokens', '60', '--model', model, '--dtype', 'fp32'], { cwd: root, timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    const validate = new Ajv2020({ strict: false }).compile(schema);
    const records = readFileSync(path.join(root, 'out.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { file_name: string; text: string; data?: unknown });
    assert.equal(records.length, 2);
    for (const record of records) {
      assert.ok(validate(record.data), `${record.file_name}: ${record.text}`);
      assert.deepEqual(record.data, JSON.parse(record.text));
    }
  });

  test('--schema with --remote is refused (exit 2)', async () => {
    const result = await runCli(['caption', '.', '--remote', 'http://127.0.0.1:9', '--format', 'json'], { cwd: root });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--format applies to a local model/);
  });
});

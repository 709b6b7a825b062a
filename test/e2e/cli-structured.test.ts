/** End-to-end: --format and --schema on the built binary with the tiny fixture (random weights). */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli, writeTestImage } from '../helpers/cli.js';
import { TEST_SCHEMAS } from '../helpers/structured-schemas.js';

const ajv = new Ajv2020({ strict: false });
const photo = TEST_SCHEMAS.photo!;

let model = '';
let dir = '';
let image = '';
let schemaFile = '';

before(async () => {
  model = await ensureFixtureModel('tiny');
  dir = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-structured-'));
  image = await writeTestImage(path.join(dir, 'red.png'), { r: 220, g: 20, b: 30 });
  schemaFile = path.join(dir, 'photo.schema.json');
  writeFileSync(schemaFile, JSON.stringify(photo));
});

const smolvlm = (args: string[], options: Parameters<typeof runCli>[1] = {}) =>
  runCli(args, { ...options, env: { SMOLVLM_MODEL: model, ...options.env } });

describe('--schema and --format', () => {
  test('describe --schema FILE: stdout is the JSON text, valid against the schema', async () => {
    const run = await smolvlm(['describe', image, '--schema', schemaFile, '-n', '96', '--temperature', '1', '--seed', '2']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(ajv.validate(photo, JSON.parse(run.stdout)), run.stdout);
  });

  test('ask --schema inline with --json: the object carries data, the parsed answer', async () => {
    const schema = TEST_SCHEMAS.enumStrings!;
    const run = await smolvlm(['ask', '--schema', JSON.stringify(schema), '--json', '-n', '48', 'What kind of image?']);
    assert.equal(run.code, 0, run.stderr);
    const object = JSON.parse(run.stdout) as { text: string; data: unknown; finish_reason: string };
    assert.deepEqual(object.data, JSON.parse(object.text));
    assert.ok(ajv.validate(schema, object.data));
    assert.equal(object.finish_reason, 'eos');
  });

  test('--format json: whatever is printed starts a JSON object; cut short, it is kept and exit 1 says so', async () => {
    const run = await smolvlm(['story', image, '--format', 'json', '-n', '8', '--temperature', '1', '--seed', '5']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^\{/);
    assert.match(run.stderr, /^smolvlm: error: the JSON answer is incomplete/);
    const json = await smolvlm(['story', image, '--format', 'json', '-n', '8', '--temperature', '1', '--seed', '5', '--json']);
    assert.equal(json.code, 1);
    const [answer, error] = [JSON.parse(json.stdout) as Record<string, unknown>, JSON.parse(json.stderr) as { error: { code: string } }];
    assert.equal(answer.finish_reason, 'length');
    assert.equal(answer.data, undefined);
    assert.equal(error.error.code, 'JSON_INCOMPLETE');
  });

  test('refused up front (exit 2, before loading): unsupported keyword, invalid schema, --stop, a missing file', async () => {
    const cases: [string[], RegExp][] = [
      [['--schema', '{"type":"string","pattern":"^a"}'], /"pattern" at the root is not supported/],
      [['--schema', '{"type":"strin"}'], /strin/],
      [['--format', 'json', '--stop', '}'], /--stop cannot be used with --format/],
      [['--schema', path.join(dir, 'missing.json')], /does not exist/],
    ];
    for (const [args, message] of cases) {
      // A model that does not exist: the format is refused before any loading.
      const run = await runCli(['ask', ...args, '-m', path.join(dir, 'no-model'), 'hi']);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
  });

  test('piped chat: /set format applies to the next answers, off turns it off', async () => {
    const schema = JSON.stringify(TEST_SCHEMAS.intRange);
    const stdin = `/set format ${schema}\nscore it\n/set format off\nnow in words\n/show\n`;
    const run = await smolvlm(['chat', '-n', '32'], { stdin });
    assert.equal(run.code, 0, run.stderr);
    const [first, second] = run.stdout.split('\n');
    assert.ok(ajv.validate(TEST_SCHEMAS.intRange!, JSON.parse(first!)), first);
    assert.throws(() => JSON.parse(second!) as unknown);
    assert.match(run.stderr, /format = schema \{/);
    assert.match(run.stderr, /format = off/);
    const refused = await smolvlm(['chat'], { stdin: '/set format {"type":"string","format":"email"}\n' });
    assert.match(refused.stderr, /"format" at the root is not supported/);
  });

  test('chat --schema: every answer follows the schema', async () => {
    const run = await smolvlm(['chat', '--schema', schemaFile, '-n', '96'], { stdin: 'what is it?\n' });
    assert.equal(run.code, 0, run.stderr);
    for (const line of run.stdout.trimEnd().split('\n')) assert.ok(ajv.validate(photo, JSON.parse(line)), line);
  });
});

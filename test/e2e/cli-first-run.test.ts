/**
 * The README's first command, `smolvlm describe fixtures/images/cat.jpg`, against a fake Hub serving the
 * tiny fixture model under the default repo id: it downloads and answers; and a wrong image path fails
 * in every command before the Hub is asked anything.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { DEFAULT_MODEL } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { FakeHub, repoFilesFromDir } from '../helpers/fake-hub.js';

let hub: FakeHub;
let scratch = '';

before(async () => {
  const model = await ensureFixtureModel('tiny');
  hub = await FakeHub.start({ repos: [{ id: DEFAULT_MODEL, files: repoFilesFromDir(model, { exclude: (f) => f === 'fixture-stamp.json' }) }] });
  scratch = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-first-run-'));
});

after(async () => {
  await hub.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Online against the fake Hub, with the default model (no --model, no SMOLVLM_MODEL) and a private cache. */
const smolvlm = (args: string[], stdin?: string) =>
  runCli(args, {
    ...(stdin !== undefined ? { stdin } : {}),
    env: {
      HF_ENDPOINT: hub.url,
      HF_HUB_CACHE: path.join(scratch, 'hub'),
      HF_HOME: path.join(scratch, 'hf-home'),
      HF_HUB_OFFLINE: undefined,
      HF_TOKEN: undefined,
      HUGGING_FACE_HUB_TOKEN: undefined,
      HF_TOKEN_PATH: undefined,
    },
  });

describe('first run', () => {
  // Runs first, on an empty cache: a download would be the first thing the Hub sees.
  for (const args of [
    ['describe', 'nope.jpg'],
    ['ask', 'nope.jpg', 'What is this?'],
    ['story', 'fixtures/images/cat.jpg', 'nope.jpg'],
    ['chat', 'nope.jpg'],
    ['describe', 'README.md'],
  ]) {
    test(`${args.join(' ')} fails before any request to the Hub`, async () => {
      const result = await smolvlm(args, '');
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /smolvlm: error: (image not found: nope\.jpg|README\.md is not a supported image)/);
      assert.deepEqual(hub.log, []);
    });
  }

  test("the README's first command downloads the default model and prints a caption", async () => {
    const result = await smolvlm(['describe', 'fixtures/images/cat.jpg', '-n', '8']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\S/);
    assert.ok(hub.log.some((r) => r.file?.startsWith('onnx/') === true && r.path.includes(DEFAULT_MODEL)), 'the model came from the Hub');
  });

  test('describe reports a missing image, answers the others and exits 1', async () => {
    const result = await smolvlm(['describe', 'nope.jpg', 'fixtures/images/coffee.jpg', '-n', '4']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /image not found: nope\.jpg/);
    assert.match(result.stdout, /\S/);
  });
});

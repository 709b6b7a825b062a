/**
 * End-to-end against the fake Hub: `models --verify [--fix]` finds a cached file whose content no
 * longer matches its hash and moves it aside so that the next pull downloads it again; `pull --offline`
 * checks the cache without the network.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli } from '../helpers/cli.js';
import { FakeHub, repoFilesFromDir } from '../helpers/fake-hub.js';

let hub: FakeHub;
let scratch = '';
let cache = '';

before(async () => {
  const model = await ensureFixtureModel('tiny');
  hub = await FakeHub.start({ repos: [{ id: 'org/tiny', files: repoFilesFromDir(model, { exclude: (f) => f === 'fixture-stamp.json' }) }] });
  scratch = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-cli-verify-'));
  cache = path.join(scratch, 'hub');
});

after(async () => {
  await hub.close();
  rmSync(scratch, { recursive: true, force: true });
});

const smolvlm = (args: string[], offline = false) =>
  runCli(args, {
    env: {
      HF_ENDPOINT: hub.url,
      HF_HUB_CACHE: cache,
      HF_HOME: path.join(scratch, 'hf-home'),
      HF_HUB_OFFLINE: offline ? '1' : undefined,
      HF_TOKEN: undefined,
      HUGGING_FACE_HUB_TOKEN: undefined,
      HF_TOKEN_PATH: undefined,
    },
  });

const blobsDir = () => path.join(cache, 'models--org--tiny', 'blobs');

test('pull --offline: exit 1 while the model is not cached, 0 once it is, nothing downloaded', async () => {
  const missing = await smolvlm(['pull', 'org/tiny', '--offline', '--dtype', 'fp32']);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /^smolvlm: error: org\/tiny@main is not in the cache .*offline/);
  assert.equal(hub.log.length, 0);
  const pulled = await smolvlm(['pull', 'org/tiny', '--dtype', 'fp32']);
  assert.equal(pulled.code, 0, pulled.stderr);
  const before = hub.log.length;
  const cached = await smolvlm(['pull', 'org/tiny', '--offline', '--dtype', 'fp32']);
  assert.equal(cached.code, 0, cached.stderr);
  assert.match(cached.stdout, /already in the cache/);
  assert.equal(hub.log.length, before, 'no request with --offline');
});

test('models --verify finds a corrupted blob; --fix moves it aside; the next pull downloads it again', async () => {
  const pulled = await smolvlm(['pull', 'org/tiny', '--dtype', 'fp32']);
  assert.equal(pulled.code, 0, pulled.stderr);
  const clean = await smolvlm(['models', '--verify', 'org/tiny']);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /org\/tiny: \d+ files checked .*, 0 bad/);

  const blobs = readdirSync(blobsDir());
  const big = blobs.find((b) => /^[0-9a-f]{64}$/.test(b));
  const small = blobs.find((b) => /^[0-9a-f]{40}$/.test(b));
  assert.ok(big && small, `sha256 and git-sha1 blobs: ${blobs.join(' ')}`);
  writeFileSync(path.join(blobsDir(), big), 'bit rot');
  writeFileSync(path.join(blobsDir(), small), '{"edited": true}');

  const found = await smolvlm(['models', '--verify']);
  assert.equal(found.code, 1, found.stderr);
  const bad = found.stdout.split('\n').filter((line) => line.startsWith('bad: '));
  assert.equal(bad.length, 2, found.stdout);
  assert.ok(bad.some((line) => /^bad: org\/tiny onnx\/\S+\.onnx: content does not match its sha256/.test(line)), found.stdout);
  assert.ok(bad.some((line) => /^bad: org\/tiny \S+\.json: content does not match its git-sha1/.test(line)), found.stdout);

  const json = await smolvlm(['models', '--verify', '--json']);
  assert.equal(json.code, 1);
  const report = JSON.parse(json.stdout) as { bad: { blob: string; moved_to?: string }[]; checked: number };
  assert.deepEqual(report.bad.map((b) => b.blob).sort(), [big, small].sort());
  assert.ok(report.bad.every((b) => b.moved_to === undefined), 'nothing moved without --fix');

  const fixed = await smolvlm(['models', '--verify', '--fix', 'org/tiny']);
  assert.equal(fixed.code, 1, fixed.stderr);
  assert.match(fixed.stdout, /moved aside to .*\.corrupt/);
  assert.ok(!existsSync(path.join(blobsDir(), big)) && existsSync(path.join(blobsDir(), `${big}.corrupt`)));

  const again = await smolvlm(['pull', 'org/tiny', '--dtype', 'fp32']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /downloaded 2 files/);
  const after = await smolvlm(['models', '--verify', 'org/tiny']);
  assert.equal(after.code, 0, after.stdout);
});

test('models --verify of a model not in the cache, a local path, or [model] without --verify', async () => {
  const absent = await smolvlm(['models', '--verify', 'org/absent']);
  assert.equal(absent.code, 1);
  assert.match(absent.stderr, /^smolvlm: error: org\/absent is not in the cache /);
  const local = await smolvlm(['models', '--verify', './some/dir']);
  assert.equal(local.code, 2);
  const stray = await smolvlm(['models', 'org/tiny']);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /goes with --verify/);
});

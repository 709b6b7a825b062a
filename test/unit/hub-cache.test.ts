import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listCachedModels, removeCachedModel, resolveModelSource } from '../../src/core/hub/index.js';
import { deterministicBytes, fakeCommit, sha256Hex, smolvlmRepoFiles } from '../helpers/fake-hub.js';
import { hubTestEnv, listDir, type HubTestEnv } from '../helpers/hub-test-env.js';

const REPO = 'test-org/SmolVLM-Cache';
const MAIN = fakeCommit('main');
const V2 = fakeCommit('v2');

async function allLinksResolve(dir: string): Promise<void> {
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isSymbolicLink()) await fs.stat(path.join(e.parentPath ?? e.path, e.name));
  }
}

describe('listing and removing cached models', () => {
  let env: HubTestEnv;
  const mainFiles = smolvlmRepoFiles({ dtypes: ['q4', 'fp16'] });
  // v2 changes the config and the q4 decoder; everything else is shared with main
  const v2Files = {
    ...mainFiles,
    'config.json': Buffer.from('{"model_type":"idefics3","v":2}'),
    'onnx/decoder_model_merged_q4.onnx': deterministicBytes('v2 decoder', 50_000),
  };

  before(async () => {
    env = await hubTestEnv({ repos: [{ id: REPO, commit: MAIN, branches: { v2: V2 }, files: mainFiles, filesAt: { [V2]: v2Files } }] });
  });
  after(async () => env.close());

  test('an empty or absent cache lists nothing', async () => {
    assert.deepEqual(await listCachedModels({ cacheDir: path.join(os.tmpdir(), 'smolvlm-no-such-cache') }), []);
    assert.deepEqual(await listCachedModels({ cacheDir: env.cacheDir }), []);
  });

  test('lists revisions, refs, sizes, dtypes and interrupted downloads', async () => {
    await resolveModelSource(REPO, env.opts({ dtype: 'q4' }));
    await resolveModelSource(`${REPO}@v2`, env.opts({ dtype: 'q4' }));
    await resolveModelSource(`${REPO}@v2`, env.opts({ dtype: { vision_encoder: 'fp16', embed_tokens: 'q4', decoder_model_merged: 'q4' } }));
    const dir = env.repoDir(REPO);
    await fs.writeFile(path.join(dir, 'blobs', `${'e'.repeat(64)}.incomplete`), Buffer.alloc(1234));
    await fs.mkdir(path.join(env.cacheDir, 'datasets--x--y'), { recursive: true });

    const [model, ...rest] = await listCachedModels({ cacheDir: env.cacheDir });
    assert.deepEqual(rest, []);
    assert.equal(model!.repo, REPO);
    assert.equal(model!.incompleteBytes, 1234);
    const byCommit = Object.fromEntries(model!.revisions.map((r) => [r.commit, r]));
    assert.deepEqual(byCommit[MAIN]!.refs, ['main']);
    assert.deepEqual(byCommit[V2]!.refs, ['v2']);
    assert.deepEqual(byCommit[MAIN]!.dtypes, ['q4']);
    assert.deepEqual(byCommit[V2]!.sessions.vision_encoder, ['fp16', 'q4']);
    assert.ok(byCommit[MAIN]!.complete && model!.usable);
    assert.deepEqual(model!.dtypes, ['q4']);

    let blobBytes = 0;
    for (const b of await listDir(path.join(dir, 'blobs'))) if (!b.endsWith('.incomplete')) blobBytes += (await fs.stat(path.join(dir, 'blobs', b))).size;
    assert.equal(model!.sizeOnDisk, blobBytes);
    const mainSize = Object.entries(mainFiles).filter(([f]) => !f.startsWith('onnx/') || f.endsWith('_q4.onnx')).reduce((n, [, c]) => n + c.length, 0);
    assert.equal(byCommit[MAIN]!.size, mainSize);
  });

  test('removing one revision keeps the blobs another snapshot uses', async () => {
    const dir = env.repoDir(REPO);
    const before = new Set(await listDir(path.join(dir, 'blobs')));
    const dry = await removeCachedModel(`${REPO}@v2`, { cacheDir: env.cacheDir, dryRun: true });
    assert.equal(dry.blobs, 3); // v2 config, v2 q4 decoder, fp16 vision encoder
    assert.deepEqual(new Set(await listDir(path.join(dir, 'blobs'))), before);

    const res = await removeCachedModel(`${REPO}@v2`, { cacheDir: env.cacheDir });
    assert.deepEqual(res, { ...dry, dryRun: false });
    assert.deepEqual(res.commits, [V2]);
    assert.deepEqual(res.refs, ['v2']);
    assert.equal(res.freedBytes, v2Files['config.json'].length + 50_000 + mainFiles['onnx/vision_encoder_fp16.onnx']!.length);
    const after = await listDir(path.join(dir, 'blobs'));
    assert.ok(!after.includes(sha256Hex(v2Files['onnx/decoder_model_merged_q4.onnx'])));
    assert.ok(after.includes(sha256Hex(mainFiles['onnx/decoder_model_merged_q4.onnx']!)));
    assert.deepEqual(await listDir(path.join(dir, 'snapshots')), [MAIN]);
    assert.deepEqual(await listDir(path.join(dir, 'refs')), ['main']);
    await allLinksResolve(path.join(dir, 'snapshots'));
    env.hub.clearLog();
    assert.equal((await resolveModelSource(REPO, env.opts({ dtype: 'q4' }))).fromCache, true);
    assert.equal(env.hub.log.length, 0);
  });

  test('removing a whole repo removes everything; unknown models are reported', async () => {
    await assert.rejects(removeCachedModel(`${REPO}@deadbeef`, { cacheDir: env.cacheDir }), { code: 'MODEL_NOT_FOUND' });
    await assert.rejects(removeCachedModel('test-org/absent', { cacheDir: env.cacheDir }), { code: 'MODEL_NOT_FOUND' });
    await assert.rejects(removeCachedModel('./some/dir', { cacheDir: env.cacheDir }), { code: 'USAGE' });
    const res = await removeCachedModel(REPO, { cacheDir: env.cacheDir });
    assert.equal(res.removedRepo, true);
    assert.ok(res.freedBytes > 0);
    await assert.rejects(fs.access(env.repoDir(REPO)));
    assert.deepEqual(await listCachedModels({ cacheDir: env.cacheDir }), []);
  });

  test('removing the last snapshot by commit prefix removes the repo; a live download blocks removal', async () => {
    await resolveModelSource(REPO, env.opts({ dtype: 'q4' }));
    const locks = path.join(env.cacheDir, '.locks', `models--${REPO.replace('/', '--')}`);
    await fs.mkdir(locks, { recursive: true });
    await fs.writeFile(path.join(locks, 'x.lock'), JSON.stringify({ pid: process.pid, hostname: os.hostname(), token: 't', createdAt: '' }));
    await assert.rejects(removeCachedModel(REPO, { cacheDir: env.cacheDir }), (e: Error & { code?: string }) => e.code === 'CACHE_BUSY' && e.message.includes(`pid ${process.pid}`));
    await fs.rm(path.join(locks, 'x.lock'));
    const res = await removeCachedModel(`${REPO}@${MAIN.slice(0, 8)}`, { cacheDir: env.cacheDir });
    assert.equal(res.removedRepo, true);
    await assert.rejects(fs.access(env.repoDir(REPO)));
  });
});

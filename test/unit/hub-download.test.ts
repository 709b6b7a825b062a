import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { pullModel, resolveModelSource, type DownloadProgress, type HubOptions } from '../../src/core/hub/index.js';
import { acquireLock } from '../../src/core/hub/lock.js';
import { fakeCommit, gitBlobSha1, sha256Hex, smolvlmRepoFiles, type FakeRepo } from '../helpers/fake-hub.js';
import { hubTestEnv, listDir, type HubTestEnv } from '../helpers/hub-test-env.js';

const REPO = 'test-org/SmolVLM-Fake';
const COMMIT = fakeCommit(REPO);
const Q4 = ['onnx/vision_encoder_q4.onnx', 'onnx/embed_tokens_q4.onnx', 'onnx/decoder_model_merged_q4.onnx'];
const JSONS = ['config.json', 'generation_config.json', 'preprocessor_config.json', 'processor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.json'];

function repo(extra: Partial<FakeRepo> = {}): FakeRepo {
  return { id: REPO, commit: COMMIT, files: smolvlmRepoFiles({ dtypes: ['fp32', 'q4'], dataParts: { decoder_model_merged: 2 } }), ...extra };
}

function etagOf(content: Buffer, file: string): string {
  return file.startsWith('onnx/') ? sha256Hex(content) : gitBlobSha1(content);
}

async function freshEnv(r: FakeRepo = repo(), treeApi = true): Promise<HubTestEnv> {
  return hubTestEnv({ repos: [r], treeApi });
}

describe('hub downloads against a fake hub', () => {
  let env: HubTestEnv;
  before(async () => {
    env = await freshEnv();
  });
  after(async () => env.close());

  test('fresh download: only the dtype files, huggingface_hub layout, relative symlinks, refs/main', async () => {
    const events: DownloadProgress[] = [];
    const src = await resolveModelSource(REPO, env.opts({ dtype: 'q4', onProgress: (e) => events.push(e) }));
    const dir = env.repoDir(REPO);
    assert.equal(src.fromCache, false);
    assert.equal(src.commit, COMMIT);
    assert.equal(src.dir, path.join(dir, 'snapshots', COMMIT));
    assert.equal(src.sessions.decoder_model_merged, path.join(src.dir, 'onnx', 'decoder_model_merged_q4.onnx'));
    assert.equal(readFileSync(path.join(dir, 'refs', 'main'), 'utf8'), COMMIT);

    const files = env.hub.repo(REPO)!.files;
    for (const file of [...JSONS, ...Q4]) {
      const link = path.join(src.dir, ...file.split('/'));
      const target = await fs.readlink(link);
      const etag = etagOf(files[file]!, file);
      assert.equal(target, path.join(file.includes('/') ? '../../..' : '../..', 'blobs', etag));
      assert.deepEqual(await fs.readFile(link), files[file]);
    }
    assert.deepEqual((await listDir(path.join(dir, 'blobs'))).filter((n) => n.includes('.')), []);
    assert.equal((await listDir(path.join(dir, 'blobs'))).length, JSONS.length + Q4.length);
    assert.deepEqual(await listDir(path.join(env.cacheDir, '.locks', `models--${REPO.replace('/', '--')}`)), []);

    const requested = new Set(env.hub.log.map((r) => r.file).filter(Boolean));
    for (const f of requested) assert.ok([...JSONS, ...Q4].includes(f!), `unexpected request for ${f}`);
    assert.ok(!env.hub.log.some((r) => r.authorization), 'no token configured, none sent');
    assert.ok(env.hub.log.filter((r) => r.method === 'GET' && r.server === 'hub' && r.file).every((r) => r.path.includes(`/resolve/${COMMIT}/`)), 'GETs pinned to the commit');

    const last = events.at(-1)!;
    assert.equal(last.phase, 'done');
    assert.equal(last.totalFiles, JSONS.length + Q4.length);
    assert.equal(last.overallDownloaded, last.overallTotal);
    assert.equal(new Set(events.map((e) => e.file)).size, JSONS.length + Q4.length);
  });

  test('second run uses the cache without any request', async () => {
    env.hub.clearLog();
    const src = await resolveModelSource(REPO, env.opts({ dtype: 'q4' }));
    assert.equal(src.fromCache, true);
    assert.equal(env.hub.log.length, 0);
    const viaAliasLikeRev = await resolveModelSource(`${REPO}@${COMMIT}`, env.opts({ dtype: 'q4' }));
    assert.equal(viaAliasLikeRev.dir, src.dir);
    assert.equal(env.hub.log.length, 0);
  });

  test('another dtype downloads only its files; external data parts come along, next to the .onnx', async () => {
    env.hub.clearLog();
    const src = await resolveModelSource(REPO, env.opts({ dtype: { decoder_model_merged: 'fp32' }, onProgress: () => undefined }));
    const gets = env.hub.log.filter((r) => r.method === 'GET' && r.file).map((r) => r.file);
    assert.deepEqual(gets.sort(), ['onnx/decoder_model_merged.onnx', 'onnx/decoder_model_merged.onnx_data', 'onnx/decoder_model_merged.onnx_data_1', 'onnx/embed_tokens.onnx', 'onnx/vision_encoder.onnx'].sort());
    for (const f of ['decoder_model_merged.onnx_data', 'decoder_model_merged.onnx_data_1']) {
      assert.deepEqual(await fs.readFile(path.join(src.dir, 'onnx', f)), env.hub.repo(REPO)!.files[`onnx/${f}`]);
    }
    assert.ok(src.files!.includes('onnx/decoder_model_merged.onnx_data_1'));
  });

  test('without a dtype the cache serves the preferred dtype it has, with no request', async () => {
    env.hub.clearLog();
    const src = await resolveModelSource(REPO, env.opts());
    assert.equal(src.fromCache, true);
    assert.deepEqual(src.dtypes, { vision_encoder: 'q4', embed_tokens: 'q4', decoder_model_merged: 'q4' });
    assert.equal(env.hub.log.length, 0);
  });

  test('pullModel asks the Hub again but downloads nothing when up to date', async () => {
    env.hub.clearLog();
    const src = await pullModel(REPO, env.opts({ dtype: 'q4' }));
    assert.equal(src.fromCache, false);
    assert.deepEqual(src.downloaded, { files: 0, bytes: 0 });
    assert.equal(env.hub.log.filter((r) => r.method === 'GET' && r.file).length, 0);
  });
});

describe('hub download faults', { concurrency: true }, () => {
  test('a dropped connection is resumed with Range: only the rest is served', async () => {
    const env = await freshEnv();
    try {
      const file = 'onnx/decoder_model_merged_q4.onnx';
      env.hub.faults.dropAfter.set(file, { bytes: 40_000, times: 1 });
      const src = await resolveModelSource(REPO, env.opts({ dtype: 'q4' }));
      const gets = env.hub.requestsFor(file, { method: 'GET', server: 'cdn' });
      assert.equal(gets.length, 2);
      assert.equal(gets[0]!.range, undefined);
      assert.equal(gets[1]!.range, 'bytes=40000-');
      assert.equal(gets[1]!.status, 206);
      const content = env.hub.repo(REPO)!.files[file]!;
      assert.equal(env.hub.servedBytes(file), content.length);
      assert.deepEqual(await fs.readFile(src.sessions.decoder_model_merged), content);
    } finally {
      await env.close();
    }
  });

  test('a stalled download is abandoned after the stall timeout and resumed', async () => {
    const env = await freshEnv();
    try {
      const file = 'onnx/vision_encoder_q4.onnx';
      env.hub.faults.stallAfter.set(file, { bytes: 20_000, times: 1 });
      const src = await resolveModelSource(REPO, env.opts({ dtype: 'q4', timeouts: { stallMs: 150 } }));
      const gets = env.hub.requestsFor(file, { method: 'GET' });
      assert.deepEqual(gets.map((g) => g.range), [undefined, 'bytes=20000-']);
      assert.deepEqual(await fs.readFile(src.sessions.vision_encoder), env.hub.repo(REPO)!.files[file]);
    } finally {
      await env.close();
    }
  });

  test('a server ignoring Range (200) is handled by taking the whole body', async () => {
    const env = await freshEnv();
    try {
      const file = 'onnx/embed_tokens_q4.onnx';
      env.hub.faults.dropAfter.set(file, { bytes: 30_000, times: 1 });
      env.hub.faults.ignoreRange.add(file);
      const src = await resolveModelSource(REPO, env.opts({ dtype: 'q4' }));
      const gets = env.hub.requestsFor(file, { method: 'GET' });
      assert.equal(gets.length, 2);
      assert.equal(gets[1]!.status, 200);
      assert.deepEqual(await fs.readFile(src.sessions.embed_tokens), env.hub.repo(REPO)!.files[file]);
    } finally {
      await env.close();
    }
  });

  test('checksum mismatch: INTEGRITY, nothing kept in blobs/, no link', async () => {
    const env = await freshEnv();
    try {
      const files = env.hub.repo(REPO)!.files;
      const blobs = (): Promise<string[]> => listDir(path.join(env.repoDir(REPO), 'blobs'));
      const snapshotEntry = (f: string): Promise<unknown> => fs.lstat(path.join(env.repoDir(REPO), 'snapshots', COMMIT, ...f.split('/')));

      env.hub.faults.corrupt.add('tokenizer.json');
      await assert.rejects(resolveModelSource(REPO, env.opts({ dtype: 'q4' })), (e: Error & { code?: string }) => e.code === 'INTEGRITY' && e.message.includes('tokenizer.json'));
      assert.ok(!(await blobs()).some((b) => b.startsWith(gitBlobSha1(files['tokenizer.json']!))));
      await assert.rejects(snapshotEntry('tokenizer.json'));

      env.hub.faults.corrupt.clear();
      const file = 'onnx/vision_encoder_q4.onnx';
      env.hub.faults.corrupt.add(file);
      await assert.rejects(resolveModelSource(REPO, env.opts({ dtype: 'q4' })), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'INTEGRITY');
        assert.match(e.message, /vision_encoder_q4\.onnx/);
        return true;
      });
      assert.ok(!(await blobs()).some((b) => b.startsWith(sha256Hex(files[file]!))));
      await assert.rejects(snapshotEntry(file));

      env.hub.faults.corrupt.clear();
      const ok = await resolveModelSource(REPO, env.opts({ dtype: 'q4' }));
      assert.deepEqual(await fs.readFile(ok.sessions.vision_encoder), files[file]);
    } finally {
      await env.close();
    }
  });

  test('5xx answers are retried; a persistent one ends as NETWORK', async () => {
    const env = await freshEnv();
    try {
      env.hub.faults.fail.set('config.json', { status: 503, times: 2 });
      env.hub.faults.fail.set('onnx/embed_tokens_q4.onnx', { status: 500, times: 2 });
      const src = await resolveModelSource(REPO, env.opts({ dtype: 'q4' }));
      assert.equal(src.commit, COMMIT);
      assert.ok(env.hub.requestsFor('config.json').filter((r) => r.status === 503).length === 2);
      env.hub.faults.fail.set('*', { status: 502, times: 1000 });
      await assert.rejects(pullModel(REPO, env.opts({ dtype: 'q4', retry: { retries: 2, minDelayMs: 1, maxDelayMs: 2 } })), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'NETWORK');
        assert.match(e.message, /HTTP 502.*3 attempts/);
        return true;
      });
    } finally {
      await env.close();
    }
  });

  test('unreachable endpoint: NETWORK', async () => {
    const env = await freshEnv();
    try {
      const port = new URL(env.hub.url).port;
      await env.hub.close();
      await assert.rejects(
        resolveModelSource(REPO, env.opts({ endpoint: `http://127.0.0.1:${port}`, retry: { retries: 1, minDelayMs: 1, maxDelayMs: 1 } })),
        (e: Error & { code?: string }) => e.code === 'NETWORK' && /connection refused/.test(e.message),
      );
    } finally {
      await env.close().catch(() => undefined);
    }
  });

  test('an endpoint that is not a URL names its source and value; a port fetch refuses is named, not retried', async () => {
    const env = await freshEnv();
    try {
      const withEnv = (HF_ENDPOINT: string): HubOptions => {
        const { endpoint, ...rest } = env.opts({ dtype: 'q4' });
        assert.ok(endpoint); // the option would win over HF_ENDPOINT
        return { ...rest, env: { HF_ENDPOINT } };
      };
      await assert.rejects(resolveModelSource(REPO, withEnv('not-a-url')), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'USAGE');
        assert.match(e.message, /^HF_ENDPOINT is not an http\(s\) URL: "not-a-url"/);
        return true;
      });
      await assert.rejects(resolveModelSource(REPO, env.opts({ endpoint: 'ftp://hub.test' })), /the endpoint option is not an http\(s\) URL: "ftp:\/\/hub.test"/);
      env.hub.clearLog();
      await assert.rejects(resolveModelSource(REPO, withEnv('http://127.0.0.1:1')), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'NETWORK');
        assert.match(e.message, /127\.0\.0\.1:1: fetch refuses port 1 \(reserved for another protocol/);
        assert.doesNotMatch(e.message, /attempts/);
        return true;
      });
    } finally {
      await env.close();
    }
  });
});

describe('hub errors and auth', () => {
  let env: HubTestEnv;
  before(async () => {
    const files = smolvlmRepoFiles({ dtypes: ['q4'], chatTemplate: false });
    const noProcessor = smolvlmRepoFiles({ dtypes: ['q4'] });
    delete noProcessor['processor_config.json'];
    env = await hubTestEnv({
      repos: [
        { id: REPO, commit: COMMIT, files },
        { id: 'test-org/private', files, token: 'hf_secret' },
        { id: 'test-org/incomplete', files: noProcessor },
        { id: 'test-org/no-onnx', files: { 'config.json': Buffer.from('{}') } },
      ],
      renamed: { 'old-org/old-name': REPO },
      resolveCache: true,
    });
  });
  after(async () => env.close());

  test('404s name the repo, the revision, the file or the missing dtype', async () => {
    await assert.rejects(resolveModelSource('test-org/nope', env.opts()), (e: Error & { code?: string }) => e.code === 'HUB_NOT_FOUND' && e.message.includes('test-org/nope'));
    await assert.rejects(resolveModelSource(`${REPO}@v9`, env.opts({ dtype: 'q4' })), (e: Error & { code?: string }) => e.code === 'HUB_NOT_FOUND' && e.message.includes('"v9"'));
    await assert.rejects(resolveModelSource(REPO, env.opts({ dtype: 'int8' })), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'HUB_NOT_FOUND');
      assert.match(e.message, /onnx\/vision_encoder_int8\.onnx not found.*available there: q4/);
      return true;
    });
    await assert.rejects(resolveModelSource('test-org/incomplete', env.opts({ dtype: 'q4' })), (e: Error & { code?: string }) => e.code === 'HUB_NOT_FOUND' && e.message.includes('processor_config.json'));
    await assert.rejects(resolveModelSource('test-org/no-onnx', env.opts({ dtype: 'q4' })), (e: Error & { code?: string }) => e.code === 'HUB_NOT_FOUND' && /no onnx\/ folder/.test(e.message));
  });

  test('a missing optional chat_template.json is recorded in .no_exist and not asked again', async () => {
    const src = await resolveModelSource(REPO, env.opts({ dtype: 'q4' }));
    assert.ok(!src.files!.includes('chat_template.json'));
    const marker = path.join(env.repoDir(REPO), '.no_exist', COMMIT, 'chat_template.json');
    assert.equal((await fs.stat(marker)).size, 0);
    env.hub.clearLog();
    assert.equal((await resolveModelSource(REPO, env.opts({ dtype: 'q4' }))).fromCache, true);
    assert.equal(env.hub.log.length, 0);
  });

  test('401 without a token says how to set HF_TOKEN; with a token it works and the CDN never sees it', async () => {
    await assert.rejects(resolveModelSource('test-org/private', env.opts({ dtype: 'q4' })), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'HUB_AUTH');
      assert.match(e.message, /gated/);
      assert.match(e.message, /HF_TOKEN/);
      return true;
    });
    env.hub.clearLog();
    const src = await resolveModelSource('test-org/private', env.opts({ dtype: 'q4', env: { HF_TOKEN: 'hf_secret' } }));
    assert.equal(src.fromCache, false);
    const hubReqs = env.hub.log.filter((r) => r.server === 'hub');
    const cdnReqs = env.hub.log.filter((r) => r.server === 'cdn');
    assert.ok(cdnReqs.length >= 3);
    assert.ok(hubReqs.every((r) => r.authorization === 'Bearer hf_secret'));
    assert.ok(hubReqs.some((r) => r.path.startsWith('/api/resolve-cache/') && r.method === 'GET'), 'small files via the commit-pinned resolve-cache redirect');
    assert.ok(cdnReqs.every((r) => r.authorization === undefined));
    await assert.rejects(pullModel('test-org/private', env.opts({ dtype: 'q4', token: 'hf_wrong' })), (e: Error & { code?: string }) => e.code === 'HUB_AUTH' && /was sent but does not grant access/.test(e.message));
  });

  test('a renamed repo (relative redirect) is followed; the cache keeps the requested name', async () => {
    const src = await resolveModelSource('old-org/old-name', env.opts({ dtype: 'q4' }));
    assert.equal(src.dir, path.join(env.repoDir('old-org/old-name'), 'snapshots', COMMIT));
    assert.deepEqual(await fs.readFile(path.join(src.dir, 'config.json')), env.hub.repo(REPO)!.files['config.json']);
  });
});

describe('offline, foreign caches, probing, cancellation, locks', { concurrency: true }, () => {
  test('offline: a complete cache works without requests; a partial or absent one fails with OFFLINE', async () => {
    const env = await freshEnv();
    try {
      await resolveModelSource(REPO, env.opts({ dtype: 'q4' }));
      env.hub.clearLog();
      const src = await resolveModelSource(REPO, env.opts({ dtype: 'q4', env: { HF_HUB_OFFLINE: '1' } }));
      assert.equal(src.fromCache, true);
      await pullModel(REPO, env.opts({ dtype: 'q4', offline: true }));
      assert.equal(env.hub.log.length, 0);
      await assert.rejects(resolveModelSource(REPO, env.opts({ dtype: 'fp32', offline: true })), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'OFFLINE');
        assert.match(e.message, /lacks onnx\/vision_encoder\.onnx, onnx\/embed_tokens\.onnx, onnx\/decoder_model_merged\.onnx/);
        return true;
      });
      await assert.rejects(resolveModelSource('test-org/other', env.opts({ offline: true })), (e: Error & { code?: string }) => e.code === 'OFFLINE' && /not in the cache/.test(e.message));
      assert.equal(env.hub.log.length, 0);
    } finally {
      await env.close();
    }
  });

  test('a cache laid out by huggingface_hub is used as is; only what it lacks is fetched', async () => {
    const env = await freshEnv();
    try {
      const files = env.hub.repo(REPO)!.files;
      const dir = env.repoDir(REPO);
      const snap = path.join(dir, 'snapshots', COMMIT);
      for (const file of [...JSONS.filter((f) => f !== 'chat_template.json'), ...Q4]) {
        const etag = etagOf(files[file]!, file);
        await fs.mkdir(path.join(dir, 'blobs'), { recursive: true });
        await fs.writeFile(path.join(dir, 'blobs', etag), files[file]!);
        const link = path.join(snap, ...file.split('/'));
        await fs.mkdir(path.dirname(link), { recursive: true });
        await fs.symlink(path.relative(path.dirname(link), path.join(dir, 'blobs', etag)), link);
      }
      await fs.mkdir(path.join(dir, 'refs'), { recursive: true });
      await fs.writeFile(path.join(dir, 'refs', 'main'), COMMIT);

      const offline = await resolveModelSource(REPO, env.opts({ dtype: 'q4', offline: true }));
      assert.equal(offline.dir, snap);
      // online but the Hub is unreachable: the complete cache is used (chat_template.json was only optional)
      const failingFetch: typeof fetch = async () => {
        throw new TypeError('fetch failed');
      };
      const unreachable = await resolveModelSource(REPO, env.opts({ dtype: 'q4', fetch: failingFetch, retry: { retries: 0 } }));
      assert.equal(unreachable.fromCache, true);
      await assert.rejects(pullModel(REPO, env.opts({ dtype: 'q4', fetch: failingFetch, retry: { retries: 0 } })), { code: 'NETWORK' });
      assert.equal(env.hub.log.length, 0);
      // online, only the unknown optional file is asked for, at the cached commit, even though main has moved on
      Object.assign(env.hub.repo(REPO)!, { commit: fakeCommit('newer'), branches: { previous: COMMIT } });
      const src = await resolveModelSource(REPO, env.opts({ dtype: 'q4' }));
      assert.equal(src.dir, snap);
      assert.deepEqual(env.hub.log.map((r) => `${r.method} ${r.file ?? r.path}`), [`HEAD chat_template.json`, 'GET chat_template.json']);
      assert.ok(env.hub.log[0]!.path.includes(`/resolve/${COMMIT}/`));
      assert.equal(readFileSync(path.join(dir, 'refs', 'main'), 'utf8'), COMMIT);
      env.hub.clearLog();
      assert.equal((await resolveModelSource(REPO, env.opts({ dtype: 'q4' }))).fromCache, true);
      assert.equal(env.hub.log.length, 0);
    } finally {
      await env.close();
    }
  });

  test('without a dtype, each session gets the first preferred dtype the repo has (with or without the tree API)', async () => {
    for (const treeApi of [true, false]) {
      const env = await hubTestEnv({ repos: [{ id: REPO, commit: COMMIT, files: smolvlmRepoFiles({ dtypes: ['fp32', 'q4', 'fp16'] }) }], treeApi });
      try {
        const src = await resolveModelSource(REPO, env.opts());
        assert.deepEqual(src.dtypes, { vision_encoder: 'q4', embed_tokens: 'q4', decoder_model_merged: 'q4' });
        const gets = env.hub.log.filter((r) => r.method === 'GET' && r.file?.startsWith('onnx/')).map((r) => r.file);
        assert.deepEqual(gets.sort(), [...Q4].sort());
        const mine = await resolveModelSource(REPO, env.opts({ dtypePreference: ['fp16'] }));
        assert.equal(mine.dtypes.decoder_model_merged, 'fp16');
        await assert.rejects(resolveModelSource('test-org/absent', env.opts({ offline: true })), { code: 'OFFLINE' });
      } finally {
        await env.close();
      }
    }
  });

  test('a tree listing in pages is followed to its last page', async () => {
    const env = await hubTestEnv({ repos: [repo()], treePageSize: 2 });
    try {
      const src = await resolveModelSource(REPO, env.opts({ dtype: 'fp32' }));
      assert.ok(src.files!.includes('onnx/decoder_model_merged.onnx_data_1'));
      const pages = env.hub.log.filter((r) => r.path.startsWith('/api/models/'));
      const onnxFiles = Object.keys(env.hub.repo(REPO)!.files).filter((f) => f.startsWith('onnx/')).length;
      assert.equal(pages.length, Math.ceil(onnxFiles / 2));
      assert.ok(pages.slice(1).every((p) => p.path.includes('cursor=')));
      assert.equal(env.hub.log.filter((r) => r.method === 'HEAD' && r.file?.includes('_data_2')).length, 0, 'no HEAD probing');
    } finally {
      await env.close();
    }
  });

  test('without the tree API, data parts are found by HEAD probing', async () => {
    const env = await freshEnv(repo(), false);
    try {
      const src = await resolveModelSource(REPO, env.opts({ dtype: 'fp32' }));
      assert.ok(src.files!.includes('onnx/decoder_model_merged.onnx_data'));
      assert.ok(src.files!.includes('onnx/decoder_model_merged.onnx_data_1'));
      assert.ok(!src.files!.some((f) => f.startsWith('onnx/vision_encoder.onnx_')));
      assert.ok(env.hub.requestsFor('onnx/decoder_model_merged.onnx_data_2', { method: 'HEAD' }).length === 1);
    } finally {
      await env.close();
    }
  });

  test('AbortSignal: ABORTED, the .incomplete stays for resuming, no blob, no lock', async () => {
    const env = await freshEnv();
    try {
      const file = 'onnx/vision_encoder_q4.onnx';
      env.hub.faults.trickle = { chunk: 8192, intervalMs: 5, files: new Set([file]) };
      const ac = new AbortController();
      await assert.rejects(
        resolveModelSource(REPO, env.opts({ dtype: 'q4', signal: ac.signal, onProgress: (p) => p.file === file && p.downloaded >= 16384 && ac.abort() })),
        { code: 'ABORTED' },
      );
      const sha = sha256Hex(env.hub.repo(REPO)!.files[file]!);
      const blobs = await listDir(path.join(env.repoDir(REPO), 'blobs'));
      assert.ok(blobs.includes(`${sha}.incomplete`));
      assert.ok(!blobs.includes(sha));
      assert.deepEqual(await listDir(path.join(env.cacheDir, '.locks', `models--${REPO.replace('/', '--')}`)), []);
      env.hub.faults.trickle = undefined;
      const partial = (await fs.stat(path.join(env.repoDir(REPO), 'blobs', `${sha}.incomplete`))).size;
      env.hub.clearLog();
      const src = await resolveModelSource(REPO, env.opts({ dtype: 'q4' }));
      assert.equal(env.hub.requestsFor(file, { method: 'GET' })[0]!.range, `bytes=${partial}-`);
      assert.deepEqual(await fs.readFile(src.sessions.vision_encoder), env.hub.repo(REPO)!.files[file]);
    } finally {
      await env.close();
    }
  });

  test('a file another process completes while this one waits is reported as found, not downloaded', async () => {
    const env = await freshEnv();
    try {
      const file = 'onnx/vision_encoder_q4.onnx';
      const content = env.hub.repo(REPO)!.files[file]!;
      const sha = sha256Hex(content);
      // "another process": holds the blob's lock, then puts the blob in place and lets go
      const other = await acquireLock(path.join(env.cacheDir, '.locks', `models--${REPO.replace('/', '--')}`, `${sha}.lock`));
      const finishOther = async (): Promise<void> => {
        const blobs = path.join(env.repoDir(REPO), 'blobs');
        await fs.mkdir(blobs, { recursive: true });
        await fs.writeFile(path.join(blobs, sha), content);
        await other.release();
      };
      const events: DownloadProgress[] = [];
      let finishing: Promise<void> | undefined;
      const src = await resolveModelSource(
        REPO,
        env.opts({
          dtype: 'q4',
          onProgress: (p) => {
            events.push(p);
            if (p.phase === 'waiting' && p.file === file) finishing ??= finishOther();
          },
        }),
      );
      await finishing;
      assert.deepEqual(events.filter((e) => e.file === file).map((e) => e.phase), ['waiting', 'found']);
      assert.ok(!events.some((e) => e.phase === 'done' && e.file === file));
      assert.equal(env.hub.requestsFor(file, { method: 'GET' }).length, 0);
      assert.equal(src.downloaded!.files, events.filter((e) => e.phase === 'done').length);
      assert.ok(src.files!.includes(file));
      assert.deepEqual(await fs.readFile(src.sessions.vision_encoder), content);
    } finally {
      await env.close();
    }
  });

  test('a lock left by a dead process is taken over; concurrent pulls in one process share the work', async () => {
    const env = await freshEnv();
    try {
      const file = 'onnx/decoder_model_merged_q4.onnx';
      const sha = sha256Hex(env.hub.repo(REPO)!.files[file]!);
      const dead = spawnSync(process.execPath, ['-e', '']).pid!;
      const locks = path.join(env.cacheDir, '.locks', `models--${REPO.replace('/', '--')}`);
      await fs.mkdir(locks, { recursive: true });
      await fs.writeFile(path.join(locks, `${sha}.lock`), JSON.stringify({ pid: dead, hostname: (await import('node:os')).hostname(), token: 'x', createdAt: '' }));
      env.hub.faults.trickle = { chunk: 16384, intervalMs: 2 };
      const [a, b] = await Promise.all([resolveModelSource(REPO, env.opts({ dtype: 'q4' })), resolveModelSource(REPO, env.opts({ dtype: 'q4' }))]);
      assert.equal(a.dir, b.dir);
      for (const [f, content] of Object.entries(env.hub.repo(REPO)!.files)) {
        if ([...JSONS, ...Q4].includes(f)) assert.equal(env.hub.servedBytes(f), content.length, `${f} served once`);
      }
      assert.deepEqual(await listDir(locks), []);
    } finally {
      await env.close();
    }
  });
});

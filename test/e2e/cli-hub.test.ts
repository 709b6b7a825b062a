/**
 * End-to-end: the built binary against a fake Hub on 127.0.0.1 serving the tiny fixture model as `org/tiny`:
 * download on first use, the cache on the second, pull / models / rm, offline and 404 errors.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import type { DownloadProgress } from '../../src/core/hub/index.js';
import { DownloadProgressView } from '../../src/cli/progress.js';
import type { Renderer } from '../../src/cli/render.js';
import { ANSI_PATTERN, runCli, writeTestImage } from '../helpers/cli.js';
import { FakeHub, fakeCommit, repoFilesFromDir } from '../helpers/fake-hub.js';

const REPO = 'org/tiny';
const COMMIT = fakeCommit(REPO);
let hub: FakeHub;
let scratch = '';
let cache = '';
let image = '';

before(async () => {
  const model = await ensureFixtureModel('tiny');
  hub = await FakeHub.start({ repos: [{ id: REPO, files: repoFilesFromDir(model, { exclude: (f) => f === 'fixture-stamp.json' }) }] });
  scratch = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-cli-hub-'));
  cache = path.join(scratch, 'hub');
  image = await writeTestImage(path.join(scratch, 'img.png'), { r: 200, g: 120, b: 30 });
});

after(async () => {
  await hub.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Online against the fake Hub, with a private cache and no token from this machine. */
const smolvlm = (args: string[]) =>
  runCli(args, {
    env: {
      HF_ENDPOINT: hub.url,
      HF_HUB_CACHE: cache,
      HF_HOME: path.join(scratch, 'hf-home'),
      HF_HUB_OFFLINE: undefined,
      HF_TOKEN: undefined,
      HUGGING_FACE_HUB_TOKEN: undefined,
      HF_TOKEN_PATH: undefined,
      SMOLVLM_CACHE: path.join(scratch, 'smolvlm'),
    },
  });

const repoDir = () => path.join(cache, 'models--org--tiny');
const optimizedDir = () => path.join(scratch, 'smolvlm', 'optimized');
const optimizedGraphs = () => (existsSync(optimizedDir()) ? readdirSync(optimizedDir()).filter((n) => n.endsWith('.onnx.json')) : []);

function assertOneLineError(result: { code: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /^smolvlm: error: /);
  assert.match(lines[0]!, pattern);
}

describe('a model from the Hub', () => {
  test('describe downloads the fp32 files only into the huggingface_hub layout and answers', async () => {
    const result = await smolvlm(['describe', image, '--model', REPO, '--dtype', 'fp32', '-n', '8']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\n$/);
    assert.doesNotMatch(result.stderr, ANSI_PATTERN);
    // a pipe gets a plain line per downloaded file
    assert.match(result.stderr, /^downloaded org\/tiny onnx\/decoder_model_merged\.onnx \(\d+\/\d+\), [\d.]+ KiB$/m);

    const requested = new Set(hub.log.filter((r) => r.method === 'GET' && r.file !== undefined).map((r) => r.file!));
    const onnx = [...requested].filter((f) => f.startsWith('onnx/')).sort();
    assert.deepEqual(onnx, ['onnx/decoder_model_merged.onnx', 'onnx/embed_tokens.onnx', 'onnx/vision_encoder.onnx']);

    assert.equal(readFileSync(path.join(repoDir(), 'refs', 'main'), 'utf8').trim(), COMMIT);
    const snapshot = path.join(repoDir(), 'snapshots', COMMIT);
    const link = readlinkSync(path.join(snapshot, 'onnx', 'vision_encoder.onnx'));
    assert.ok(!path.isAbsolute(link) && link.startsWith('../../../blobs/'), link);
    assert.ok(readdirSync(path.join(repoDir(), 'blobs')).every((n) => !n.endsWith('.incomplete')));
  });

  test('a second run is served from the cache without a request', async () => {
    hub.clearLog();
    const result = await smolvlm(['describe', image, '--model', REPO, '--dtype', 'fp32', '-n', '4']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.deepEqual(hub.log, []);
  });

  test('pull --json downloads another dtype (its ONNX files only) and prints the resolved model', async () => {
    hub.clearLog();
    const result = await smolvlm(['pull', REPO, '--dtype', 'q4', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as Record<string, any>;
    assert.equal(json.repo, REPO);
    assert.equal(json.revision, 'main');
    assert.equal(json.commit, COMMIT);
    assert.equal(json.dir, path.join(repoDir(), 'snapshots', COMMIT));
    assert.deepEqual(json.dtype, { vision_encoder: 'q4', embed_tokens: 'q4', decoder_model_merged: 'q4' });
    assert.equal(json.from_cache, false);
    const q4 = ['onnx/decoder_model_merged_q4.onnx', 'onnx/embed_tokens_q4.onnx', 'onnx/vision_encoder_q4.onnx'];
    for (const file of q4) assert.ok(json.files.includes(file), file);
    // only q4 files are fetched, and not one whose bytes blobs/ already holds (the fixture's embed_tokens q4 = fp32)
    const gets = new Set(hub.log.filter((r) => r.method === 'GET' && r.file !== undefined).map((r) => r.file!));
    assert.ok([...gets].every((f) => q4.includes(f)), [...gets].join(', '));
    assert.ok(gets.size > 0);
    assert.equal(json.downloaded.files, gets.size);

    const again = await smolvlm(['pull', REPO, '--dtype', 'q4', '--quiet']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, '');
    assert.match(again.stdout, /^org\/tiny@main \(commit [0-9a-f]{12}\), dtype q4: already in the cache\n/);
  });

  test('models lists it with its dtypes; --available lists the aliases', async () => {
    const table = await smolvlm(['models']);
    assert.equal(table.code, 0, table.stderr);
    const row = table.stdout.split('\n').find((l) => l.startsWith(REPO));
    assert.ok(row, table.stdout);
    assert.match(row, /fp32,q4/);
    assert.match(row, new RegExp(`main\\s+${COMMIT.slice(0, 12)}\\s+complete`));

    const json = JSON.parse((await smolvlm(['models', '--json'])).stdout) as Record<string, any>;
    assert.equal(json.cache_dir, cache);
    assert.equal(json.models.length, 1);
    assert.deepEqual(json.models[0].dtypes, ['fp32', 'q4']);
    assert.equal(json.models[0].revisions[0].complete, true);
    assert.deepEqual(json.models[0].revisions[0].refs, ['main']);
    // The optimized graphs describe made (fp32 sessions), per model and in total.
    assert.match(row, /fp32,q4\s+[\d.]+ (KiB|MiB)\s+[\d.]+ (KiB|MiB)\s+main/);
    assert.ok(optimizedGraphs().length > 0);
    assert.equal(json.models[0].optimized_graphs.entries, optimizedGraphs().length);
    assert.ok(json.models[0].optimized_graphs.size > 0);
    assert.equal(json.optimized_graph_cache.dir, optimizedDir());
    assert.equal(json.optimized_graph_cache.size, json.models[0].optimized_graphs.size);
    assert.equal(json.optimized_graph_cache.items[0].repo, REPO);
    assert.match(table.stdout, /^Optimized graphs \(made on first load, to load faster\): [\d.]+ (KiB|MiB) in /m);

    const available = await smolvlm(['models', '--available']);
    assert.equal(available.code, 0, available.stderr);
    for (const alias of ['256m', '500m', '2.2b']) assert.match(available.stdout, new RegExp(`^${alias.replace('.', '\\.')}\\s+HuggingFaceTB/`, 'm'));
  });

  test('models --prune empties the optimized graphs whose source files are gone (--dry-run first), and keeps the others', async () => {
    const kept = optimizedGraphs();
    const gone = path.join(optimizedDir(), 'decoder-gone.onnx');
    writeFileSync(gone, 'x'.repeat(1000));
    writeFileSync(`${gone}.json`, JSON.stringify({ path: path.join(scratch, 'deleted', 'onnx', 'decoder.onnx'), size: 5, mtimeMs: 1 }));
    const listed = await smolvlm(['models']);
    assert.match(listed.stdout, /; 1 graph \([\d.]+ KiB\) of models no longer present: "smolvlm models --prune" removes them/);

    const dry = JSON.parse((await smolvlm(['models', '--prune', '--dry-run', '--json'])).stdout) as Record<string, any>;
    assert.deepEqual(dry.pruned, { entries: 1, freed_bytes: dry.pruned.freed_bytes, dry_run: true });
    assert.ok(existsSync(gone));
    const pruned = await smolvlm(['models', '--prune']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /^Removed 1 optimized graph of models no longer present; freed [\d.]+ KiB\n$/);
    assert.ok(!existsSync(gone) && !existsSync(`${gone}.json`));
    assert.deepEqual(optimizedGraphs(), kept);
    assert.match((await smolvlm(['models', '--prune'])).stdout, /^Nothing to prune in /);
  });

  test('rm of a model another process is downloading fails as a runtime error (exit 1), not a usage error', async () => {
    const locks = path.join(cache, '.locks', 'models--org--tiny');
    mkdirSync(locks, { recursive: true });
    writeFileSync(path.join(locks, 'busy.lock'), JSON.stringify({ pid: process.pid, hostname: os.hostname(), token: 't', createdAt: '' }));
    try {
      assertOneLineError(await smolvlm(['rm', REPO, '--yes']), new RegExp(`org/tiny is being downloaded by pid ${process.pid}; try again`));
      assert.ok(existsSync(repoDir()));
    } finally {
      rmSync(path.join(locks, 'busy.lock'));
    }
  });

  test('rm asks for --yes in a pipe, then removes the model', async () => {
    const refused = await smolvlm(['rm', REPO]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /--yes/);
    assert.ok(existsSync(repoDir()));

    const dry = await smolvlm(['rm', REPO, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^Would remove org\/tiny: 1 snapshot, \d+ blobs and \d+ optimized graphs? \([\d.]+ (KiB|MiB)\); would free /);
    assert.ok(existsSync(repoDir()));
    assert.ok(optimizedGraphs().length > 0);

    const removed = await smolvlm(['rm', REPO, '--yes']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /^Removed org\/tiny: 1 snapshot, \d+ blobs and \d+ optimized graphs? \([\d.]+ (KiB|MiB)\); freed [\d.]+ (KiB|MiB)\n$/);
    assert.ok(!existsSync(repoDir()));
    assert.deepEqual(readdirSync(optimizedDir()), []);
    assert.match((await smolvlm(['models'])).stdout, /^No models in the cache/);
  });

  test('--offline with an empty cache fails with one clear line', async () => {
    hub.clearLog();
    assertOneLineError(await smolvlm(['describe', image, '--model', REPO, '--offline']), /org\/tiny.* not in the cache .*offline/);
    assert.deepEqual(hub.log, []);
  });

  test('an unknown repo (404) fails with one clear line', async () => {
    assertOneLineError(await smolvlm(['describe', image, '--model', 'org/nope']), /repository org\/nope not found/);
  });

  test('HF_ENDPOINT that is not a URL is named with its value (usage error, exit 2)', async () => {
    const result = await runCli(['pull', REPO], { env: { HF_ENDPOINT: 'not-a-url', HF_HUB_CACHE: path.join(scratch, 'no-cache'), HF_HUB_OFFLINE: undefined } });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr, 'smolvlm: error: HF_ENDPOINT is not an http(s) URL: "not-a-url" (expected e.g. https://huggingface.co)\n');
  });
});

describe('download progress', () => {
  test('on a terminal: one bar line with bytes, speed and ETA that fits the width', () => {
    const texts: string[] = [];
    const renderer = { interactive: true, spin: (t: string) => texts.push(t), note: () => assert.fail('no notes on a terminal') } as unknown as Renderer;
    let now = 0;
    const view = new DownloadProgressView(renderer, { columns: () => 120, now: () => now, redrawMs: 0 });
    const MiB = 1024 * 1024;
    const event = (downloaded: number, phase: DownloadProgress['phase'] = 'downloading'): DownloadProgress => ({
      phase,
      repo: REPO,
      revision: 'main',
      commit: COMMIT,
      file: 'onnx/decoder_model_merged.onnx',
      fileIndex: 1,
      totalFiles: 3,
      downloaded,
      total: 8 * MiB,
      resumedFrom: 0,
      overallDownloaded: 2 * MiB + downloaded,
      overallTotal: 10 * MiB,
    });
    for (let i = 0; i <= 4; i++) {
      now = i * 1000;
      view.onProgress(event(i * MiB));
    }
    const line = texts.at(-1)!;
    assert.match(line, /^Downloading org\/tiny \[#+-+\]  60% 6\.0 MiB \/ 10\.0 MiB, 1\.0 MiB\/s, ETA 4s \(2\/3\) onnx\/decoder_model_merged\.onnx$/);
    assert.ok(line.length <= 117, line);
    const narrow = new DownloadProgressView(renderer, { columns: () => 40, now: () => now, redrawMs: 0 });
    narrow.onProgress(event(MiB));
    assert.ok(texts.at(-1)!.length <= 37, texts.at(-1));
    view.onProgress(event(8 * MiB, 'done'));
    assert.deepEqual(view.summary(), { files: 1, bytes: 8 * MiB, ms: 4000 });
  });

  test('in a pipe: a file another process downloaded while this one waited is reported as found, not downloaded', () => {
    const notes: string[] = [];
    const renderer = { interactive: false, spin: () => undefined, note: (t: string) => notes.push(t) } as unknown as Renderer;
    const view = new DownloadProgressView(renderer, { now: () => 0 });
    const base = { repo: REPO, revision: 'main', commit: COMMIT, file: 'onnx/vision_encoder.onnx', fileIndex: 0, totalFiles: 2, total: 4096, resumedFrom: 0, overallTotal: 8192 };
    view.onProgress({ ...base, phase: 'waiting', downloaded: 0, overallDownloaded: 0 });
    view.onProgress({ ...base, phase: 'found', downloaded: 4096, overallDownloaded: 4096 });
    assert.deepEqual(notes, [
      'waiting for another process downloading org/tiny onnx/vision_encoder.onnx',
      'found org/tiny onnx/vision_encoder.onnx (1/2) in the cache: another process downloaded it',
    ]);
    assert.deepEqual(view.summary(), { files: 0, bytes: 0, ms: 0 });
  });
});

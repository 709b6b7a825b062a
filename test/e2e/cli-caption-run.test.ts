/**
 * End-to-end: `smolvlm caption` while things go wrong around it: Ctrl+C and SIGTERM mid-run (then a
 * rerun completes every image exactly once), a reader that closes stdout, and --remote against a fake
 * OpenAI-compatible server that answers 429, 500, slowly, or drops the connection.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { makeImages, readJsonl } from '../helpers/caption.js';
import { binPath, runCli, type CliResult } from '../helpers/cli.js';
import { fakeOpenAIText, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';

const posix = process.platform !== 'win32';
let model = '';

before(async () => {
  model = await ensureFixtureModel('tiny');
});

async function folderWith(count: number): Promise<{ root: string; files: string[] }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-caption-run-'));
  return { root, files: await makeImages(root, Array.from({ length: count }, (_, i) => `img${String(i).padStart(2, '0')}.png`)) };
}

function lineCount(file: string): number {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0;
}

/** Sends `signal` once the output file has its first complete record. */
function signalAfterFirstRecord(file: string, signal: NodeJS.Signals): (child: ChildProcess) => void {
  return (child) => {
    const timer = setInterval(() => {
      if (lineCount(file) < 1) return;
      clearInterval(timer);
      child.kill(signal);
    }, 20);
    child.on('close', () => clearInterval(timer));
  };
}

describe('caption interrupted', { skip: !posix && 'needs POSIX signals' }, () => {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    test(`${signal} mid-run: exit ${code}, summary printed, only whole lines; the rerun captions every image exactly once`, async () => {
      const { root, files } = await folderWith(10);
      const output = path.join(root, 'out.jsonl');
      // Long answers (a high repetition penalty keeps the fixture model from ending them) and one at a time.
      const args = ['caption', '.', '-o', 'out.jsonl', '-m', model, '--batch', '1', '-n', '60', '--repetition-penalty', '10'];
      const stopped = await runCli(args, { cwd: root, onSpawn: signalAfterFirstRecord(output, signal), timeoutMs: 120_000 });
      assert.equal(stopped.code, code, stopped.stderr);
      assert.match(stopped.stderr, /^captioned \d+, skipped 0 \(already done\), failed 0 · .* · interrupted$/m);
      assert.doesNotMatch(stopped.stderr, /error/);
      const partial = await readJsonl(output);
      assert.ok(partial.length >= 1 && partial.length < files.length, `stopped after ${partial.length} of ${files.length}`);

      const rerun = await runCli(args, { cwd: root, timeoutMs: 120_000 });
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.match(rerun.stderr, new RegExp(`^captioned ${files.length - partial.length}, skipped ${partial.length} `, 'm'));
      const all = (await readJsonl(output)).map((r) => r.file_name as string).sort();
      assert.deepEqual(all, files.map((f) => path.basename(f)).sort());
    });
  }
});

test('a reader that closes stdout early ends the run quietly (exit 0)', { skip: !posix && 'needs a POSIX shell' }, async () => {
  const { root } = await folderWith(4);
  const script = `"$0" "$1" caption . -m "$2" -n 6 --batch 1 | head -c 12; exit "\${PIPESTATUS[0]}"`;
  const run = spawnSync('bash', ['-c', script, process.execPath, binPath, model], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, HF_HUB_OFFLINE: '1' } });
  assert.equal(run.stdout, '{"file_name"');
  assert.doesNotMatch(run.stderr, /error/);
  assert.equal(run.status, 0, run.stderr);
});

describe('caption --remote', () => {
  let server: FakeOpenAI;
  before(async () => {
    server = await startFakeOpenAI({ apiKey: 'sk-test' });
  });
  after(() => server.close());

  const remote = (args: readonly string[], cwd: string, env: Record<string, string | undefined> = { OPENAI_API_KEY: 'sk-test' }): Promise<CliResult> =>
    runCli(['caption', '.', '--remote', server.url, '--remote-model', 'fake-model', ...args], { cwd, env, timeoutMs: 120_000 });

  test('429, 500, a slow answer and a dropped connection are retried: every image captioned once, with the server\'s text', async () => {
    const { root, files } = await folderWith(6);
    server.fault({ kind: 'status', status: 429, retryAfter: '0' }, 1);
    server.fault({ kind: 'status', status: 500 }, 1);
    server.fault({ kind: 'slow', delayMs: 3000 }, 1);
    server.fault({ kind: 'drop' }, 1);
    const before = server.chatRequests().length;
    const result = await remote(['-o', 'out.jsonl', '--concurrency', '2', '--timeout', '0.5', '--prompt', 'Caption this.'], root);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /429/);
    assert.match(result.stderr, /500/);
    assert.match(result.stderr, /no answer within 0\.5 s/);
    assert.match(result.stderr, /^captioned 6, skipped 0 \(already done\), failed 0 /m);
    const records = await readJsonl(path.join(root, 'out.jsonl'));
    assert.equal(records.length, files.length);
    for (const record of records) {
      const bytes = await readFile(path.join(root, String(record.file_name)));
      assert.equal(record.text, fakeOpenAIText(bytes, 'Caption this.'));
      assert.equal(record.model, 'fake-model');
    }
    const requests = server.chatRequests().slice(before);
    assert.equal(requests.length, files.length + 4, 'one retry per fault');
    assert.ok(server.maxConcurrent <= 2, `at most 2 requests in flight, saw ${server.maxConcurrent}`);
  });

  test('a refused API key stops the run: one error line, exit 2', async () => {
    const { root } = await folderWith(3);
    const result = await remote(['-o', 'out.jsonl'], root, { OPENAI_API_KEY: 'wrong' });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^smolvlm: error: .*refused the request .*check the API key$/m);
  });
});

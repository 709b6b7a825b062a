import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { resolveModelSource } from '../../src/core/hub/index.js';
import { fakeCommit, sha256Hex, smolvlmRepoFiles } from '../helpers/fake-hub.js';
import { hubTestEnv, listDir, type HubTestEnv } from '../helpers/hub-test-env.js';
import { repoRoot } from '../helpers/shared.js';

const REPO = 'test-org/SmolVLM-Proc';
const DECODER = 'onnx/decoder_model_merged_q4.onnx';

interface Line {
  event: string;
  file?: string;
  downloaded?: number;
  phase?: string;
  code?: string;
}

function pullInChild(env: HubTestEnv, extra: Record<string, unknown> = {}, onLine?: (line: Line, child: ChildProcess) => void) {
  const args = { ref: REPO, endpoint: env.hub.url, cacheDir: env.cacheDir, dtype: 'q4', ...extra };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'helpers', 'hub-pull.ts'), JSON.stringify(args)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = JSON.parse(buffer.slice(0, nl)) as Line;
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      onLine?.(line, child);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: Line[]; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, lines, stderr })),
  );
  return { child, exited };
}

async function setup(): Promise<HubTestEnv> {
  return hubTestEnv({ repos: [{ id: REPO, commit: fakeCommit(REPO), files: smolvlmRepoFiles({ dtypes: ['q4'] }) }] });
}

const locksDir = (env: HubTestEnv): string => path.join(env.cacheDir, '.locks', `models--${REPO.replace('/', '--')}`);

describe('several processes and interruptions', { concurrency: true }, () => {
  test('two processes pulling at once both succeed; every file is served once, one blob each', async () => {
    const env = await setup();
    try {
      env.hub.faults.trickle = { chunk: 8192, intervalMs: 8 };
      const [a, b] = await Promise.all([pullInChild(env).exited, pullInChild(env).exited]);
      for (const r of [a, b]) assert.equal(r.code, 0, r.stderr + JSON.stringify(r.lines.at(-1)));
      const files = env.hub.repo(REPO)!.files;
      for (const [file, content] of Object.entries(files)) {
        if (file.startsWith('onnx/') && !file.endsWith('_q4.onnx')) continue;
        assert.equal(env.hub.servedBytes(file), content.length, `${file} served once`);
      }
      const blobs = await listDir(path.join(env.repoDir(REPO), 'blobs'));
      assert.equal(blobs.length, Object.keys(files).length);
      assert.ok(blobs.every((b) => !b.includes('.')));
      assert.deepEqual(await listDir(locksDir(env)), []);
    } finally {
      await env.close();
    }
  });

  for (const graceful of [false, true]) {
    test(`SIGINT mid-download (${graceful ? 'aborted through a signal handler' : 'default: process killed'}) leaves no corrupt blob; the next run resumes`, async () => {
      const env = await setup();
      try {
        const content = env.hub.repo(REPO)!.files[DECODER]!;
        const sha = sha256Hex(content);
        env.hub.faults.trickle = { chunk: 4096, intervalMs: 20, files: new Set([DECODER]) };
        let sent = false;
        const run = pullInChild(env, { abortOnSigint: graceful }, (line, child) => {
          if (!sent && line.file === DECODER && (line.downloaded ?? 0) >= 16384) {
            sent = true;
            child.kill('SIGINT');
          }
        });
        const r = await run.exited;
        assert.ok(sent, r.stderr);
        if (graceful) {
          assert.equal(r.code, 1);
          assert.equal(r.lines.at(-1)!.code, 'ABORTED');
          assert.deepEqual(await listDir(locksDir(env)), [], 'lock released');
        } else {
          assert.equal(r.signal, 'SIGINT');
          assert.deepEqual(await listDir(locksDir(env)), [`${sha}.lock`], 'lock left behind by the dead process');
        }
        const blobs = path.join(env.repoDir(REPO), 'blobs');
        assert.ok(!(await listDir(blobs)).includes(sha), 'no blob for the interrupted file');
        const partial = await fs.readFile(path.join(blobs, `${sha}.incomplete`));
        assert.ok(partial.length >= 16384 && partial.length < content.length);
        assert.deepEqual(partial, content.subarray(0, partial.length));
        await assert.rejects(fs.lstat(path.join(env.repoDir(REPO), 'snapshots', fakeCommit(REPO), ...DECODER.split('/'))));

        env.hub.faults.trickle = undefined;
        env.hub.clearLog();
        const src = await resolveModelSource(REPO, env.opts({ dtype: 'q4' }));
        const gets = env.hub.requestsFor(DECODER, { method: 'GET' });
        assert.equal(gets.length, 1);
        assert.equal(gets[0]!.range, `bytes=${partial.length}-`);
        assert.equal(env.hub.servedBytes(DECODER), content.length - partial.length);
        assert.deepEqual(await fs.readFile(src.sessions.decoder_model_merged), content);
        assert.deepEqual(await listDir(locksDir(env)), []);
      } finally {
        await env.close();
      }
    });
  }
});

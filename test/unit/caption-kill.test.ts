import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { seededRandom } from '../../src/core/generation/sampling.js';
import { fakeCaption, makeImages, readJsonl } from '../helpers/caption.js';
import { repoRoot } from '../helpers/shared.js';

const child = path.join(repoRoot, 'test', 'helpers', 'caption-child.ts');
const IMAGES = 24;
const KILLS = 6;

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-caption-kill-'));
});
after(() => rm(root, { recursive: true, force: true }));

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the child; with `killAfterMs`, SIGKILLs it that long after it says `started`. */
function runChild(args: string[], killAfterMs?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (killAfterMs !== undefined && !stdout.includes('started') && (stdout + chunk).includes('started')) {
        setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
      }
      stdout += chunk;
    });
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The complete lines of the output: each must be JSON; a last line without its newline is allowed (the rerun repairs it). */
async function completeRecords(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines = text.split('\n').slice(0, -1);
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      return assert.fail(`line ${i + 1} is broken: ${line}`);
    }
  });
}

test('kill -9 at random moments, then rerun: every image recorded exactly once, no broken line, sidecars whole', async () => {
  const images = await makeImages(root, Array.from({ length: IMAGES }, (_, i) => `photos/p${String(i).padStart(2, '0')}.png`));
  const output = path.join(root, 'photos', 'metadata.jsonl');
  const random = seededRandom(12);
  let killed = 0;
  for (let attempt = 0; attempt < KILLS + 20; attempt++) {
    const kill = attempt < KILLS ? Math.floor(random() * (40 + 30 * attempt)) : undefined;
    const result = await runChild([output, '3', ...images], kill);
    if (result.signal === 'SIGKILL') killed++;
    else assert.equal(result.code, 0, result.stderr);
    const records = await completeRecords(output);
    const fileNames = records.map((r) => r.file_name as string);
    assert.equal(new Set(fileNames).size, fileNames.length, `no image recorded twice after attempt ${attempt + 1}`);
    for (const image of images) {
      const sidecar = await readFile(image.replace(/\.png$/, '.txt'), 'utf8').catch(() => undefined);
      if (sidecar !== undefined) assert.equal(sidecar, fakeCaption(image), 'a sidecar is whole or absent');
    }
    if (result.code === 0) {
      const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { captioned: number; skipped: number; failed: number };
      assert.equal(summary.captioned + summary.skipped, IMAGES);
      assert.equal(summary.failed, 0);
      break;
    }
  }
  assert.ok(killed >= 1, 'at least one run was killed');
  const records = await readJsonl(output);
  assert.deepEqual(records.map((r) => r.file_name).sort(), images.map((f) => path.basename(f)));
  for (const record of records) assert.equal(record.text, fakeCaption(record.file_name as string));
});

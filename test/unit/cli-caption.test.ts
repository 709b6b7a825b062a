/** `smolvlm caption`'s progress bar, status lines and summary, and how it reads --sidecar's optional value. */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CaptionProgressView, progressBarLine, progressStatusLine, summaryJson, summaryLine } from '../../src/cli/caption-progress.js';
import { sidecarValue } from '../../src/cli/caption-run.js';
import { Renderer } from '../../src/cli/render.js';
import type { CaptionProgress } from '../../src/index.js';

const progress = (over: Partial<CaptionProgress> = {}): CaptionProgress => ({
  total: 1000,
  completed: 120,
  captioned: 100,
  skipped: 18,
  failed: 2,
  elapsedMs: 200_000,
  imagesPerMinute: 35.24,
  etaMs: 1_500_000,
  current: '/data/photos/a very long folder name/and an even longer file name of a photo.jpg',
  ...over,
});

describe('caption progress', () => {
  test('the bar line has the count, rate, ETA and current file, and never wraps', () => {
    const line = progressBarLine(progress(), 200, '/data');
    assert.equal(line, 'Captioning [####--------------------------] 120/1000 (18 already done, 2 failed) · 35.2 images/min · ETA 25m00s · photos/a very long folder name/and an even longer file name of a photo.jpg');
    for (const columns of [40, 60, 80, 120]) {
      const narrow = progressBarLine(progress(), columns, '/data');
      assert.ok(narrow.length <= columns - 3, `${columns}: ${narrow}`);
      assert.match(narrow, /^Captioning /);
    }
    assert.equal(progressBarLine(progress({ completed: 1000, etaMs: 0 }), 200, '/'), 'Captioning [##############################] 1000/1000 (18 already done, 2 failed) · 35.2 images/min');
  });

  test('the status line in a pipe; the summary line and its JSON', () => {
    assert.equal(progressStatusLine(progress()), 'caption: 120/1000 (12%) (18 already done, 2 failed), 35.2 images/min, ETA 25m00s');
    assert.equal(progressStatusLine(progress({ skipped: 0, failed: 0, imagesPerMinute: 0, etaMs: undefined })), 'caption: 120/1000 (12%)');
    const summary = { total: 20, captioned: 17, skipped: 2, failed: 1, imagesPerMinute: 123.4, wallMs: 65_000, interrupted: false };
    assert.equal(summaryLine(summary), 'captioned 17, skipped 2 (already done), failed 1 · 123 images/min · 1m05s');
    assert.equal(summaryLine({ ...summary, interrupted: true }), 'captioned 17, skipped 2 (already done), failed 1 · 123 images/min · 1m05s · interrupted');
    assert.deepEqual(summaryJson(summary), { summary: { total: 20, captioned: 17, skipped: 2, failed: 1, images_per_minute: 123.4, wall_ms: 65_000, interrupted: false } });
  });

  test('in a pipe a status line every few seconds at most; nothing with --quiet', () => {
    const written: string[] = [];
    const stream = { isTTY: false, write: (text: string) => (written.push(text), true) } as unknown as NodeJS.WriteStream;
    let now = 0;
    const view = (quiet: boolean) =>
      new CaptionProgressView(new Renderer({ quiet }, { stdout: stream, stderr: stream, env: {} }), { cwd: '/', now: () => now, statusMs: 5000 });
    const piped = view(false);
    for (now = 0; now <= 12_000; now += 1000) piped.onProgress(progress());
    assert.equal(written.length, 2, written.join(''));
    assert.match(written[0]!, /^caption: 120\/1000/);
    written.length = 0;
    const quiet = view(true);
    for (now = 0; now <= 12_000; now += 1000) quiet.onProgress(progress());
    assert.deepEqual(written, []);
  });
});

describe("--sidecar's optional value", () => {
  test('an extension, or the first input when it names a path', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-sidecar-'));
    await mkdir(path.join(cwd, 'photos'));
    assert.deepEqual(sidecarValue(undefined, cwd), { sidecar: undefined });
    assert.deepEqual(sidecarValue(true, cwd), { sidecar: true });
    assert.deepEqual(sidecarValue('.caption', cwd), { sidecar: '.caption' });
    assert.deepEqual(sidecarValue('caption', cwd), { sidecar: 'caption' });
    assert.deepEqual(sidecarValue('photos', cwd), { sidecar: true, input: 'photos' });
    assert.deepEqual(sidecarValue('photos/', cwd), { sidecar: true, input: 'photos/' });
    assert.deepEqual(sidecarValue('shots/**/*.jpg', cwd), { sidecar: true, input: 'shots/**/*.jpg' });
  });
});

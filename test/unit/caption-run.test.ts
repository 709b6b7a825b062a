import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { SmolVLMError } from '../../src/core/errors.js';
import {
  captionImages,
  collectImages,
  fileImageReader,
  type CaptionImage,
  type CaptionProgress,
  type CaptionResult,
  type CaptionRunOptions,
  type ImageReader,
} from '../../src/core/caption/index.js';
import { drain, fakeCaption, fakeCaptioner, makeImages, readJsonl, rejectsWithCode } from '../helpers/caption.js';

let root: string;
let n = 0;

/** A fresh folder with `count` images under `train/` (PNG, some in a subfolder). */
async function dataset(count: number): Promise<{ dir: string; images: string[] }> {
  const dir = path.join(root, `set-${n++}`);
  const names = Array.from({ length: count }, (_, i) => (i % 3 === 2 ? `train/more/img-${String(i).padStart(2, '0')}.png` : `train/img-${String(i).padStart(2, '0')}.png`));
  const images = await makeImages(dir, names);
  return { dir, images: images.sort() };
}

function options(extra: Partial<CaptionRunOptions> = {}): CaptionRunOptions {
  return { captioner: fakeCaptioner(), prompt: 'Describe the image.', ...extra };
}

const names = (results: CaptionResult[], status: CaptionResult['status']) => results.filter((r) => r.status === status).map((r) => path.basename(r.path)).sort();

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-caption-run-'));
});
after(() => rm(root, { recursive: true, force: true }));

describe('captionImages: outputs', () => {
  test('-o data/train/metadata.jsonl: a record per image with relative file_name (an imagefolder layout) and the summary', async () => {
    const { dir, images } = await dataset(5);
    const output = path.join(dir, 'train', 'metadata.jsonl');
    const captioner = fakeCaptioner({ model: 'org/model' });
    const run = captionImages(images, options({ captioner, output }));
    const results = await drain(run);
    assert.deepEqual(names(results, 'done'), images.map((f) => path.basename(f)).sort());
    const records = await readJsonl(output);
    assert.equal(records.length, 5);
    for (const record of records) {
      const fileName = record.file_name as string;
      assert.ok(!path.isAbsolute(fileName) && !fileName.includes('\\'), fileName);
      // imagefolder resolves file_name against the metadata file's folder.
      assert.ok(existsSync(path.join(dir, 'train', fileName)), fileName);
      assert.equal(record.text, fakeCaption(fileName));
      assert.equal(record.model, 'org/model');
      assert.equal(record.prompt, 'Describe the image.');
      assert.equal(record.finish_reason, 'eos');
      assert.deepEqual(Object.keys(record.usage as object), ['prompt_tokens', 'completion_tokens', 'total_tokens']);
      assert.equal(typeof (record.timings as Record<string, number>).total_ms, 'number');
      assert.equal((record.timings as Record<string, number>).decode_ms, 1);
    }
    assert.ok(records.some((r) => (r.file_name as string).startsWith('more/')));
    const summary = run.summary();
    assert.deepEqual({ ...summary, wallMs: 0, imagesPerMinute: 0 }, { total: 5, captioned: 5, skipped: 0, failed: 0, wallMs: 0, imagesPerMinute: 0, interrupted: false });
    assert.ok(summary.imagesPerMinute > 0);
  });

  test('an image outside the output folder is recorded by its absolute path', async () => {
    const { dir, images } = await dataset(1);
    const output = path.join(dir, 'elsewhere', 'captions.jsonl');
    await drain(captionImages(images, options({ output })));
    assert.equal((await readJsonl(output))[0]!.file_name, images[0]);
  });

  test('neither output nor sidecar: JSON lines on stdout, file_name relative to cwd', async () => {
    const { dir, images } = await dataset(2);
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    await drain(captionImages(images, options({ stdout, cwd: dir })));
    const records = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(records.map((r) => r.file_name).sort(), ['train/img-00.png', 'train/img-01.png']);
  });

  test('sidecars: <stem>.txt (or another extension) beside each image, no temporary files left; nothing on stdout', async () => {
    const { dir, images } = await dataset(3);
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    await drain(captionImages(images, options({ sidecar: true, stdout })));
    await drain(captionImages(images, options({ sidecar: 'caption', overwrite: true, stdout })));
    for (const image of images) {
      assert.equal(await readFile(image.replace(/\.png$/, '.txt'), 'utf8'), fakeCaption(image));
      assert.equal(await readFile(image.replace(/\.png$/, '.caption'), 'utf8'), fakeCaption(image));
    }
    assert.deepEqual((await readdir(path.join(dir, 'train'))).filter((f) => f.startsWith('.')), []);
    assert.equal(text, '');
  });

  test('two images with one sidecar name: the second fails, saying why', async () => {
    const dir = path.join(root, `clash-${n++}`);
    const images = await makeImages(dir, ['cat.jpg', 'cat.png']);
    const results = await drain(captionImages(images, options({ sidecar: true })));
    const failed = results.find((r) => r.status === 'failed');
    assert.ok(failed && failed.status === 'failed');
    assert.equal(path.basename(failed.path), 'cat.png');
    assert.match(failed.error.message, /cat\.txt would also be .*cat\.jpg's/);
  });
});

describe('captionImages: resume', () => {
  test('a second run skips every image already recorded, without calling the captioner', async () => {
    const { dir, images } = await dataset(4);
    const output = path.join(dir, 'out.jsonl');
    await drain(captionImages(images, options({ output })));
    const captioner = fakeCaptioner();
    const run = captionImages(images, options({ output, captioner }));
    const results = await drain(run);
    assert.equal(captioner.calls.length, 0);
    assert.deepEqual(results.map((r) => r.status === 'skipped' && r.reason), Array(4).fill('record'));
    assert.equal(run.summary().skipped, 4);
    assert.equal((await readJsonl(output)).length, 4);
  });

  test('resume after an abort: the run stops at once with ABORTED, every line whole; the rerun does the rest, each image once', async () => {
    const { dir, images } = await dataset(9);
    const output = path.join(dir, 'out.jsonl');
    const controller = new AbortController();
    const run = captionImages(images, options({ output, captioner: fakeCaptioner({ concurrency: 3, delayMs: 5 }), signal: controller.signal }));
    const seen: CaptionResult[] = [];
    await rejectsWithCode(
      (async () => {
        for await (const result of run) {
          seen.push(result);
          if (seen.length === 4) controller.abort();
        }
      })(),
      'ABORTED',
    );
    assert.equal(run.summary().interrupted, true);
    const firstPass = await readJsonl(output);
    assert.ok(firstPass.length >= 4 && firstPass.length < 9, `${firstPass.length} records after the abort`);
    const captioner = fakeCaptioner();
    await drain(captionImages(images, options({ output, captioner })));
    assert.equal(captioner.calls.length, 9 - firstPass.length);
    const all = (await readJsonl(output)).map((r) => r.file_name as string).sort();
    assert.deepEqual(all, [...new Set(all)]);
    assert.equal(all.length, 9);
  });

  test('a truncated last line is removed (with a notice) and that image captioned again', async () => {
    const { dir, images } = await dataset(3);
    const output = path.join(dir, 'out.jsonl');
    await drain(captionImages(images.slice(0, 2), options({ output })));
    await appendFile(output, '{"file_name":"train/img-02.png","text":"half');
    const notices: string[] = [];
    const results = await drain(captionImages(images, options({ output, onNotice: (m) => notices.push(m) })));
    assert.equal(notices.length, 1);
    assert.match(notices[0]!, /removed a truncated last line \(line 3, \d+ bytes\)/);
    assert.deepEqual(names(results, 'done'), [path.basename(images[2]!)]);
    assert.equal((await readJsonl(output)).length, 3);
  });

  test('overwrite captions everything again and leaves one record per image', async () => {
    const { dir, images } = await dataset(3);
    const output = path.join(dir, 'out.jsonl');
    await drain(captionImages(images, options({ output })));
    const captioner = fakeCaptioner({ model: 'org/another' });
    await drain(captionImages(images, options({ output, captioner, overwrite: true })));
    assert.equal(captioner.calls.length, 3);
    const records = await readJsonl(output);
    assert.equal(records.length, 3);
    assert.ok(records.every((r) => r.model === 'org/another'));
  });

  test('an output file written with another model or prompt is refused and left untouched', async () => {
    const { dir, images } = await dataset(2);
    const output = path.join(dir, 'out.jsonl');
    await drain(captionImages(images.slice(0, 1), options({ output })));
    const before = await readFile(output, 'utf8');
    const captioner = fakeCaptioner({ model: 'org/another' });
    await rejectsWithCode(drain(captionImages(images, options({ output, captioner }))), 'USAGE', /written with the model "fake\/model"/);
    await rejectsWithCode(drain(captionImages(images, options({ output, prompt: 'Tags.' }))), 'USAGE', /another prompt/);
    assert.equal(captioner.calls.length, 0);
    assert.equal(await readFile(output, 'utf8'), before);
  });

  test('with sidecars only, an existing sidecar means done; with both outputs, a missing sidecar is restored from its record', async () => {
    const { dir, images } = await dataset(3);
    const sidecar = images[0]!.replace(/\.png$/, '.txt');
    await writeFile(sidecar, 'written by hand');
    const captioner = fakeCaptioner();
    const results = await drain(captionImages(images, options({ sidecar: true, captioner })));
    assert.equal(captioner.calls.length, 2);
    assert.equal(await readFile(sidecar, 'utf8'), 'written by hand');
    assert.deepEqual(results.filter((r) => r.status === 'skipped').map((r) => r.path), [images[0]]);

    const output = path.join(dir, 'out.jsonl');
    await drain(captionImages(images, options({ output })));
    await rm(images[1]!.replace(/\.png$/, '.txt'));
    const again = fakeCaptioner();
    const second = await drain(captionImages(images, options({ output, sidecar: true, captioner: again })));
    assert.equal(again.calls.length, 0);
    assert.deepEqual(second.map((r) => r.status === 'skipped' && r.reason).sort(), ['record', 'record', 'restored']);
    assert.equal(await readFile(images[1]!.replace(/\.png$/, '.txt'), 'utf8'), fakeCaption(images[1]!));
  });
});

describe('captionImages: failures and scheduling', () => {
  test('unreadable images among good ones are reported (and in the errors file); the others go on', async () => {
    const { dir, images } = await dataset(3);
    const text = path.join(dir, 'train', 'notes.png');
    await writeFile(text, 'not a picture\n');
    const truncated = path.join(dir, 'train', 'cut.png');
    await writeFile(truncated, (await readFile(images[0]!)).subarray(0, 40));
    const missing = path.join(dir, 'train', 'gone.png');
    const output = path.join(dir, 'out.jsonl');
    const errors = path.join(dir, 'errors.jsonl');
    const captioner = fakeCaptioner({ failFor: (f) => (f === images[1] ? new SmolVLMError('IMAGE_INVALID', 'decoder says no') : undefined) });
    const run = captionImages([...images, text, missing], options({ output, errors, captioner }));
    const results = await drain(run);
    assert.deepEqual(names(results, 'failed'), ['gone.png', 'img-01.png', 'notes.png']);
    assert.deepEqual({ captioned: run.summary().captioned, failed: run.summary().failed }, { captioned: 2, failed: 3 });
    const logged = await readJsonl(errors);
    assert.deepEqual(logged.map((r) => (r.error as { code: string }).code).sort(), ['IMAGE_INVALID', 'IMAGE_INVALID', 'IMAGE_NOT_FOUND']);
    assert.ok(logged.every((r) => r.model === 'fake/model' && typeof r.file_name === 'string'));
    // The rerun retries only the failed ones; the truncated PNG sniffs as an image and reaches the captioner.
    await rm(missing, { force: true });
    const again = fakeCaptioner();
    await drain(captionImages([...images, text, truncated], options({ output, errors, captioner: again })));
    assert.deepEqual(again.calls.map((f) => path.basename(f)).sort(), ['cut.png', 'img-01.png']);
    assert.equal((await readJsonl(errors)).length, 1);
  });

  test('an error that would fail every image (USAGE) stops the run and is thrown', async () => {
    const { images } = await dataset(4);
    const captioner = fakeCaptioner({ failFor: () => new SmolVLMError('USAGE', 'the server refused the API key') });
    const run = captionImages(images, options({ captioner, sidecar: true }));
    await rejectsWithCode(drain(run), 'USAGE', /API key/);
    assert.equal(captioner.calls.length, 1);
  });

  test('keeps `concurrency` captions in flight and reads at most `prefetch` images ahead of them', async () => {
    const { images } = await dataset(12);
    let reading = 0;
    let started = 0;
    let maxAhead = 0;
    const plain = fileImageReader();
    const reader: ImageReader = {
      async read(file: string, signal: AbortSignal): Promise<CaptionImage> {
        reading++;
        maxAhead = Math.max(maxAhead, reading - started);
        return plain.read(file, signal);
      },
    };
    const captioner = fakeCaptioner({ concurrency: 3, delayMs: 3 });
    const wrapped = { ...captioner, caption: (request: Parameters<typeof captioner.caption>[0]) => (started++, captioner.caption(request)) };
    const progress: CaptionProgress[] = [];
    await drain(captionImages(images, options({ captioner: wrapped, reader, prefetch: 2, sidecar: true, onProgress: (p) => progress.push(p) })));
    assert.equal(captioner.maxInFlight, 3);
    assert.ok(maxAhead <= 3 + 2, `read ${maxAhead} ahead of captioning`);
    const last = progress.at(-1)!;
    assert.deepEqual([last.total, last.completed, last.captioned], [12, 12, 12]);
    assert.ok(progress.some((p) => p.current !== undefined));
  });

  test('collectImages output feeds a run directly', async () => {
    const { dir } = await dataset(2);
    const { files } = await collectImages(['train'], { cwd: dir });
    const results = await drain(captionImages(files, options({ sidecar: true })));
    assert.equal(results.length, 2);
  });
});

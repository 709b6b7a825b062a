/**
 * End-to-end: `smolvlm caption` on the tiny fixture model: outputs (an imagefolder metadata.jsonl,
 * sidecars, stdout, an errors file), resuming, --overwrite, a refused output file, inputs (folders,
 * quoted globs, --files-from - with -0), failures among good images, and captions equal to describe's.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { makeImages, readJsonl } from '../helpers/caption.js';
import { runCli, type CliResult } from '../helpers/cli.js';

let model = '';

before(async () => {
  model = await ensureFixtureModel('tiny');
});

/** A fresh folder with images at these relative paths. */
async function folderWith(names: readonly string[]): Promise<{ root: string; files: string[] }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-caption-e2e-'));
  return { root, files: await makeImages(root, names) };
}

/** `caption` with the fixture model and short captions, run in `cwd`. */
function caption(args: readonly string[], cwd: string, stdin?: string): Promise<CliResult> {
  return runCli(['caption', ...args, '-m', model, '-n', '6'], { cwd, ...(stdin !== undefined ? { stdin } : {}), timeoutMs: 120_000 });
}

function assertOk(result: CliResult): void {
  assert.equal(result.code, 0, result.stderr);
}

const summaryPattern = (captioned: number, skipped: number, failed: number) =>
  new RegExp(`^captioned ${captioned}, skipped ${skipped} \\(already done\\), failed ${failed} · [\\d.]+ images/min · \\d+s$`, 'm');

const names = (records: Record<string, unknown>[]) => records.map((r) => r.file_name as string).sort();

describe('smolvlm caption', () => {
  test('a folder to -o metadata.jsonl: relative file_names, every field; a rerun skips all; --overwrite redoes all', async () => {
    const { root } = await folderWith(['train/a.png', 'train/sub/b.jpg', 'train/c.png']);
    const first = await caption(['train', '-o', 'train/metadata.jsonl'], root);
    assertOk(first);
    assert.equal(first.stdout, '', 'records go to the file, not stdout');
    assert.match(first.stderr, summaryPattern(3, 0, 0));
    const records = await readJsonl(path.join(root, 'train', 'metadata.jsonl'));
    assert.deepEqual(names(records), ['a.png', 'c.png', 'sub/b.jpg']);
    for (const record of records) {
      assert.equal(typeof record.text, 'string');
      assert.equal(record.model, model);
      assert.equal(record.prompt, 'Can you describe this image?');
      assert.match(String(record.finish_reason), /^(eos|length)$/);
      assert.equal(typeof (record.usage as Record<string, unknown>).completion_tokens, 'number');
      assert.equal(typeof (record.timings as Record<string, unknown>).total_ms, 'number');
    }
    const before = await readFile(path.join(root, 'train', 'metadata.jsonl'), 'utf8');

    const again = await caption(['train', '-o', 'train/metadata.jsonl'], root);
    assertOk(again);
    assert.match(again.stderr, summaryPattern(0, 3, 0));
    assert.equal(await readFile(path.join(root, 'train', 'metadata.jsonl'), 'utf8'), before, 'nothing appended');

    const overwrite = await caption(['train', '-o', 'train/metadata.jsonl', '--overwrite'], root);
    assertOk(overwrite);
    assert.match(overwrite.stderr, summaryPattern(3, 0, 0));
    assert.deepEqual(names(await readJsonl(path.join(root, 'train', 'metadata.jsonl'))), ['a.png', 'c.png', 'sub/b.jpg']);
  });

  test('a rerun with nothing left to do never loads the model', async () => {
    const { root } = await folderWith(['a.png', 'b.png']);
    const copy = path.join(root, 'model');
    await cp(model, copy, { recursive: true });
    const runWith = (extra: string[]) => runCli(['caption', '.', '-o', 'out.jsonl', '-m', copy, '-n', '4', ...extra], { cwd: root });
    assertOk(await runWith([]));
    // Break every decoder file: loading the model would now fail.
    for (const file of await readdir(path.join(copy, 'onnx'))) {
      if (file.startsWith('decoder_model_merged')) await writeFile(path.join(copy, 'onnx', file), 'not an onnx file');
    }
    const rerun = await runWith([]);
    assertOk(rerun);
    assert.match(rerun.stderr, summaryPattern(0, 2, 0));
    const forced = await runWith(['--overwrite']);
    assert.equal(forced.code, 1, 'the model is loaded for work, and fails');
  });

  test('an output file written with another prompt is refused (exit 2) and left as it was', async () => {
    const { root } = await folderWith(['a.png']);
    assertOk(await caption(['.', '-o', 'out.jsonl'], root));
    const before = await readFile(path.join(root, 'out.jsonl'), 'utf8');
    const refused = await caption(['.', '-o', 'out.jsonl', '--prompt', 'What colour is it?'], root);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /^smolvlm: error: .*out\.jsonl was written with another prompt .*overwrite/m);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.equal(await readFile(path.join(root, 'out.jsonl'), 'utf8'), before);
  });

  test('sidecars: <stem>.txt beside each image (the record\'s text), --sidecar .caption, and a folder right after --sidecar', async () => {
    const { root } = await folderWith(['set/a.png', 'set/b.jpg']);
    assertOk(await caption(['set', '--sidecar', '-o', 'set/metadata.jsonl'], root));
    const records = await readJsonl(path.join(root, 'set', 'metadata.jsonl'));
    for (const record of records) {
      const stem = String(record.file_name).replace(/\.\w+$/, '');
      assert.equal(await readFile(path.join(root, 'set', `${stem}.txt`), 'utf8'), record.text);
    }
    const kohya = await caption(['--sidecar', '.caption', 'set'], root);
    assertOk(kohya);
    assert.equal(kohya.stdout, '', 'sidecars only: nothing on stdout');
    const files = (await readdir(path.join(root, 'set'))).sort();
    assert.deepEqual(files, ['a.caption', 'a.png', 'a.txt', 'b.caption', 'b.jpg', 'b.txt', 'metadata.jsonl']);
    // `--sidecar set`: an existing folder is an input, not an extension.
    const rerun = await caption(['--sidecar', 'set'], root);
    assertOk(rerun);
    assert.match(rerun.stderr, summaryPattern(0, 2, 0));
  });

  test('an unreadable image among good ones: reported, the others captioned, --errors has it, exit 1', async () => {
    const { root } = await folderWith(['a.png', 'c.png']);
    await writeFile(path.join(root, 'b.png'), 'this is not a png');
    const result = await caption(['.', '-o', 'out.jsonl', '--errors', 'errors.jsonl'], root);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^smolvlm: error: .*b\.png/m);
    assert.match(result.stderr, summaryPattern(2, 0, 1));
    assert.deepEqual(names(await readJsonl(path.join(root, 'out.jsonl'))), ['a.png', 'c.png']);
    const errors = await readJsonl(path.join(root, 'errors.jsonl'));
    assert.deepEqual(errors.map((e) => [e.file_name, (e.error as Record<string, unknown>).code]), [['b.png', 'IMAGE_INVALID']]);
  });

  test('--files-from - with -0 (a name with a space and a newline), and a quoted glob', async () => {
    const { root, files } = await folderWith(['x/one.png', 'x/two words.png', 'x/new\nline.png', 'y/skip.jpg', 'y/deep/three.png']);
    const listed = await caption(['--files-from', '-', '-0', '-o', 'list.jsonl'], root, `${files.slice(0, 3).join('\0')}\0`);
    assertOk(listed);
    assert.deepEqual(names(await readJsonl(path.join(root, 'list.jsonl'))), ['x/new\nline.png', 'x/one.png', 'x/two words.png']);
    const globbed = await caption(['**/*.png', '-o', 'glob.jsonl'], root);
    assertOk(globbed);
    assert.deepEqual(names(await readJsonl(path.join(root, 'glob.jsonl'))), ['x/new\nline.png', 'x/one.png', 'x/two words.png', 'y/deep/three.png']);
  });

  test('no -o and no --sidecar: JSON lines on stdout, file_name relative to the working folder', async () => {
    const { root } = await folderWith(['p/a.png', 'p/b.png']);
    const result = await caption(['p'], root);
    assertOk(result);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(names(lines), ['p/a.png', 'p/b.png']);
  });

  test('a greedy caption equals describe --json\'s answer for the same image, split or not, batched or not', async () => {
    const { root } = await folderWith(['a.png', 'b.jpg']);
    // fp32: int8 files quantize activations per decoder call, so a batched int8 caption may differ.
    for (const extra of [[], ['--no-split', '--batch', '2']]) {
      const captions = await caption(['.', '--dtype', 'fp32', ...extra], root);
      assertOk(captions);
      for (const line of captions.stdout.trim().split('\n')) {
        const record = JSON.parse(line) as { file_name: string; text: string };
        const described = await runCli(['describe', record.file_name, '--json', '--dtype', 'fp32', '-m', model, '-n', '6', ...extra.slice(0, 1)], { cwd: root });
        assertOk(described);
        assert.equal(record.text, (JSON.parse(described.stdout) as { text: string }).text, `${record.file_name} ${extra.join(' ')}`);
      }
    }
  });

  test('usage: a missing input fails before the model is looked up; flags of the other mode are refused', async () => {
    const { root } = await folderWith(['a.png']);
    const missing = await runCli(['caption', 'nope/', '-m', 'org/not-downloaded'], { cwd: root });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such file or folder: "nope\/"/);
    const batchRemote = await runCli(['caption', '.', '--remote', 'http://127.0.0.1:9', '--batch', '2'], { cwd: root });
    assert.equal(batchRemote.code, 2);
    assert.match(batchRemote.stderr, /--batch applies to a local model, not with --remote/);
    const concurrencyLocal = await runCli(['caption', '.', '--concurrency', '2'], { cwd: root });
    assert.equal(concurrencyLocal.code, 2);
    assert.match(concurrencyLocal.stderr, /--concurrency applies only with --remote/);
    const nothing = await runCli(['caption'], { cwd: root });
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /name the images/);
  });
});

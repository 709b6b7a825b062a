import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { collectImages, readFilesFrom } from '../../src/core/caption/index.js';
import { makeImages, rejectsWithCode } from '../helpers/caption.js';

let root: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-caption-inputs-'));
  await makeImages(root, ['b.png', 'a.jpg', 'sub/c.PNG', 'sub/deeper/d.jpeg', '.hidden/e.png', 'sub/.f.png']);
  await writeFile(path.join(root, 'notes.txt'), 'not an image\n');
  await writeFile(path.join(root, 'sub', 'readme.md'), '# hi\n');
  await mkdir(path.join(root, 'docs'));
  await writeFile(path.join(root, 'docs', 'readme.md'), '# no images here\n');
  // A PNG under a name without an image extension: kept when named, left out of folder walks.
  await writeFile(path.join(root, 'png-without-extension'), await readFile(path.join(root, 'b.png')));
  await symlink(path.join(root, 'a.jpg'), path.join(root, 'link-to-a.jpg'));
});

after(() => rm(root, { recursive: true, force: true }));

const rel = (files: string[]) => files.map((file) => path.relative(root, file));

describe('collectImages', () => {
  test('a folder is walked recursively: image extensions only (any case), hidden entries left out, sorted', async () => {
    const { files, ignored } = await collectImages(['.'], { cwd: root });
    // link-to-a.jpg is the same file as a.jpg: it appears once.
    assert.deepEqual(rel(files), ['a.jpg', 'b.png', 'sub/c.PNG', 'sub/deeper/d.jpeg']);
    assert.deepEqual(ignored, []);
  });

  test('glob patterns are expanded by us, relative to cwd, and only images are kept', async () => {
    assert.deepEqual(rel((await collectImages(['sub/**/*'], { cwd: root })).files), ['sub/c.PNG', 'sub/deeper/d.jpeg']);
    assert.deepEqual(rel((await collectImages(['*.{png,jpg}'], { cwd: root })).files), ['a.jpg', 'b.png']);
    assert.deepEqual(rel((await collectImages([path.join(root, 'sub', '*', '*.jpeg')])).files), ['sub/deeper/d.jpeg']);
  });

  test('named files, folders and patterns combine; duplicates (same real path) count once; order is sorted', async () => {
    const { files } = await collectImages(['sub/deeper/d.jpeg', 'b.png', 'sub', '*.png', 'link-to-a.jpg', path.join(root, 'a.jpg')], { cwd: root });
    assert.deepEqual(rel(files), ['b.png', 'link-to-a.jpg', 'sub/c.PNG', 'sub/deeper/d.jpeg']);
  });

  test('a named file is kept when its bytes are an image, whatever its name; a named non-image is ignored, not an error', async () => {
    const { files, ignored } = await collectImages(['png-without-extension', 'notes.txt'], { cwd: root });
    assert.deepEqual(rel(files), ['png-without-extension']);
    assert.equal(ignored.length, 1);
    assert.equal(ignored[0]!.path, path.join(root, 'notes.txt'));
    assert.match(ignored[0]!.reason, /not an image \(text\)/);
  });

  test('a missing path, a pattern matching no image and a folder without images are clear errors', async () => {
    await rejectsWithCode(collectImages(['nope.jpg'], { cwd: root }), 'IMAGE_NOT_FOUND', /No such file or folder: "nope\.jpg"/);
    await rejectsWithCode(collectImages(['**/*.webp'], { cwd: root }), 'IMAGE_NOT_FOUND', /No image files match "\*\*\/\*\.webp"/);
    await rejectsWithCode(collectImages(['*.txt'], { cwd: root }), 'IMAGE_NOT_FOUND', /No image files match/);
    await rejectsWithCode(collectImages(['docs'], { cwd: root }), 'IMAGE_NOT_FOUND', /No image files in the folder/);
  });

  test('--files-from: newline-separated (CRLF too), relative to cwd, blank lines skipped', async () => {
    const list = path.join(root, 'list.txt');
    await writeFile(list, 'b.png\r\n\nsub/c.PNG\n');
    assert.deepEqual(rel((await collectImages([], { cwd: root, filesFrom: list })).files), ['b.png', 'sub/c.PNG']);
  });

  test('--files-from - with NUL separators reads stdin, and entries are paths, not patterns', async () => {
    const stdin = Readable.from([Buffer.from(`a.jpg\0sub/deeper/d.jpeg\0`), Buffer.from(`${path.join(root, 'b.png')}\0`)]);
    const { files } = await collectImages([], { cwd: root, filesFrom: '-', nul: true, stdin });
    assert.deepEqual(rel(files), ['a.jpg', 'b.png', 'sub/deeper/d.jpeg']);
    const patterns = Readable.from([Buffer.from('*.png\0')]);
    await rejectsWithCode(collectImages([], { cwd: root, filesFrom: '-', nul: true, stdin: patterns }), 'IMAGE_NOT_FOUND', /No such file or folder: "\*\.png"/);
  });

  test('a newline inside a NUL-separated entry is part of the name', async () => {
    const entries = await readFilesFrom('-', { nul: true, stdin: Readable.from([Buffer.from('odd\nname.png\0plain.png')]) });
    assert.deepEqual(entries, ['odd\nname.png', 'plain.png']);
  });

  test('a files-from list on a terminal is refused rather than waited for', async () => {
    const tty = Object.assign(Readable.from([]), { isTTY: true });
    await rejectsWithCode(readFilesFrom('-', { stdin: tty }), 'USAGE', /stdin is a terminal/);
  });

  test('an unreadable files-from list is a usage error', async () => {
    await rejectsWithCode(collectImages([], { cwd: root, filesFrom: 'missing-list.txt' }), 'USAGE', /cannot read the list of files "missing-list\.txt"/);
  });
});

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  JsonlFileWriter,
  JsonlStreamWriter,
  normaliseSidecarExtension,
  readExistingOutput,
  recordFileName,
  sidecarPath,
  writeFileAtomic,
} from '../../src/core/caption/index.js';
import { readJsonl, rejectsWithCode } from '../helpers/caption.js';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-caption-outputs-'));
});
after(() => rm(root, { recursive: true, force: true }));

const context = { model: 'org/model', prompt: 'Describe the image.' };
const line = (fileName: string, extra: Record<string, unknown> = {}) => `${JSON.stringify({ file_name: fileName, text: `text of ${fileName}`, ...context, ...extra })}\n`;

describe('JsonlFileWriter', () => {
  test('appends one complete line per record, in order, even when appends overlap; keeps what was there', async () => {
    const file = path.join(root, 'append.jsonl');
    await writeFile(file, line('old.png'));
    const writer = await JsonlFileWriter.open(file, { syncIntervalMs: 5 });
    await Promise.all(Array.from({ length: 50 }, (_, i) => writer.append({ file_name: `${i}.png`, text: `line\nbreak ${i}` })));
    await writer.close();
    const records = await readJsonl(file);
    assert.equal(records.length, 51);
    assert.equal(records[0]!.file_name, 'old.png');
    assert.deepEqual(records.slice(1).map((r) => r.file_name), Array.from({ length: 50 }, (_, i) => `${i}.png`));
    assert.equal(records[50]!.text, 'line\nbreak 49');
  });

  test('each record is one write call of one whole line, and close() syncs to disk', async () => {
    const file = path.join(root, 'calls.jsonl');
    const probe = await open(file, 'a');
    const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown>; sync: () => Promise<void> };
    await probe.close();
    const { write, sync } = proto;
    const writes: string[] = [];
    let syncs = 0;
    proto.write = function (this: unknown, ...args: unknown[]) {
      const [buffer, offset, length] = args as [Buffer, number, number];
      writes.push(buffer.subarray(offset, offset + length).toString('utf8'));
      return write.apply(this, args);
    };
    proto.sync = function (this: unknown) {
      syncs++;
      return sync.apply(this);
    };
    try {
      // A long interval: only close() syncs here.
      const writer = await JsonlFileWriter.open(file, { syncIntervalMs: 60_000 });
      await Promise.all(Array.from({ length: 20 }, (_, i) => writer.append({ file_name: `${i}.png`, text: 'x'.repeat(i * 1000) })));
      assert.equal(syncs, 0);
      await writer.close();
      assert.equal(syncs, 1);
    } finally {
      proto.write = write;
      proto.sync = sync;
    }
    assert.equal(writes.length, 20);
    for (const text of writes) assert.ok(text.endsWith('\n') && text.indexOf('\n') === text.length - 1, 'one whole line per write');
  });

  test('truncate empties the file; appending after close is refused', async () => {
    const file = path.join(root, 'truncate.jsonl');
    await writeFile(file, line('old.png'));
    const writer = await JsonlFileWriter.open(file, { truncate: true });
    await writer.append({ file_name: 'new.png' });
    await writer.close();
    assert.deepEqual(await readJsonl(file), [{ file_name: 'new.png' }]);
    await assert.rejects(writer.append({ file_name: 'late.png' }), /closed/);
  });

  test('the stream writer writes lines to a stream and leaves it open', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const writer = new JsonlStreamWriter(stream);
    await writer.append({ a: 1 });
    await writer.append({ b: 'x\ny' });
    await writer.close();
    assert.equal(text, '{"a":1}\n{"b":"x\\ny"}\n');
    assert.equal(stream.writableEnded, false);
  });
});

describe('recordFileName', () => {
  const base = path.join(os.tmpdir(), 'data', 'train');
  test('inside the output folder: relative with forward slashes (imagefolder metadata)', () => {
    assert.equal(recordFileName(path.join(base, 'cats', 'a.jpg'), [base]), 'cats/a.jpg');
  });
  test('outside it (or a sibling whose name starts with ..): the absolute path', () => {
    const outside = path.join(os.tmpdir(), 'data', 'other.jpg');
    assert.equal(recordFileName(outside, [base]), outside);
    assert.equal(recordFileName(path.join(base, '..x', 'a.jpg'), [base]), '..x/a.jpg');
  });
  test('any of several forms of the folder (as given, real path) counts', () => {
    assert.equal(recordFileName('/real/place/a.jpg', [base, '/real/place']), 'a.jpg');
  });
});

describe('readExistingOutput (resume)', () => {
  const write = async (name: string, text: string) => {
    const file = path.join(root, name);
    await writeFile(file, text);
    return file;
  };

  test('no file: nothing done', async () => {
    assert.deepEqual(await readExistingOutput(path.join(root, 'absent.jsonl'), context), { done: new Map() });
  });

  test('records by file_name; blank lines are fine', async () => {
    const file = await write('ok.jsonl', `${line('a.png')}\n${line('b.png')}`);
    const existing = await readExistingOutput(file, context);
    assert.deepEqual([...existing.done.keys()], ['a.png', 'b.png']);
    assert.equal(existing.done.get('b.png'), 'text of b.png');
    assert.equal(existing.repaired, undefined);
  });

  test('a last line without its newline is cut off and reported; the file then ends at the last complete line', async () => {
    const good = line('a.png') + line('b.png');
    const file = await write('partial.jsonl', `${good}{"file_name":"c.png","te`);
    const existing = await readExistingOutput(file, context);
    assert.deepEqual([...existing.done.keys()], ['a.png', 'b.png']);
    assert.deepEqual(existing.repaired, { line: 3, bytes: Buffer.byteLength('{"file_name":"c.png","te') });
    assert.equal(await readFile(file, 'utf8'), good);
  });

  test('a complete last line that is not JSON (zeros after a crash) is cut off too', async () => {
    const good = line('a.png');
    const file = await write('zeros.jsonl', `${good}\0\0\0\0\n`);
    const existing = await readExistingOutput(file, context);
    assert.deepEqual(existing.repaired, { line: 2, bytes: 5 });
    assert.equal(await readFile(file, 'utf8'), good);
  });

  test('a broken line that is not the last is refused, and the file is left alone', async () => {
    const text = `${line('a.png')}{broken\n${line('b.png')}`;
    const file = await write('middle.jsonl', text);
    await rejectsWithCode(readExistingOutput(file, context), 'USAGE', /line 2 is not valid JSON/);
    assert.equal(await readFile(file, 'utf8'), text);
  });

  test('a line that is JSON but not a caption record is refused (a metadata file written by something else)', async () => {
    const file = await write('foreign.jsonl', `${JSON.stringify({ file_name: 'a.png', label: 3 })}\n`);
    await rejectsWithCode(readExistingOutput(file, context), 'USAGE', /line 1 is not a caption record \(no "text" string\)/);
  });

  test('an output written with another model or prompt is refused, naming it', async () => {
    const other = await write('other-model.jsonl', line('a.png', { model: 'org/other' }));
    await rejectsWithCode(readExistingOutput(other, context), 'USAGE', /written with the model "org\/other" \(line 1\), not "org\/model".*overwrite/);
    const prompt = await write('other-prompt.jsonl', line('a.png') + line('b.png', { prompt: 'Tags only.' }));
    await rejectsWithCode(readExistingOutput(prompt, context), 'USAGE', /written with another prompt \(line 2: "Tags only\."\)/);
  });

  test('files larger than one read chunk: lines spanning chunks are read whole', async () => {
    const long = 'x'.repeat(700_000);
    const file = await write('big.jsonl', line('a.png', { text: long }) + line('b.png', { text: long }) + line('c.png'));
    const existing = await readExistingOutput(file, context);
    assert.deepEqual([...existing.done.keys()], ['a.png', 'b.png', 'c.png']);
    assert.equal(existing.done.get('b.png'), long);
  });
});

describe('sidecars', () => {
  test('the sidecar of an image: its stem plus the extension, beside it', () => {
    assert.equal(sidecarPath(path.join('photos', 'cat.v2.jpg'), '.txt'), path.join('photos', 'cat.v2.txt'));
    assert.equal(normaliseSidecarExtension('caption'), '.caption');
    assert.equal(normaliseSidecarExtension('.txt'), '.txt');
    assert.throws(() => normaliseSidecarExtension('.'), /sidecar extension/);
    assert.throws(() => normaliseSidecarExtension('../x'), /sidecar extension/);
  });

  test('writeFileAtomic replaces the file and leaves no temporary file; a failed write leaves nothing either', async () => {
    const folder = path.join(root, 'atomic');
    await mkdir(folder);
    const target = path.join(folder, 'cat.txt');
    await writeFile(target, 'old caption');
    await writeFileAtomic(target, 'new caption');
    assert.equal(await readFile(target, 'utf8'), 'new caption');
    assert.deepEqual(await readdir(folder), ['cat.txt']);
    // The target is a folder: the rename fails, the temporary file is removed.
    await mkdir(path.join(folder, 'dir.txt'));
    await assert.rejects(writeFileAtomic(path.join(folder, 'dir.txt'), 'x'));
    assert.deepEqual((await readdir(folder)).sort(), ['cat.txt', 'dir.txt']);
  });
});

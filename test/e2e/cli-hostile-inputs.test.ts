/**
 * End-to-end: hostile inputs get one clear line naming what is wrong and where, with the documented
 * exit code (2 for usage, 1 for a runtime failure) and no stack trace. See test/README.md for the list.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-hostile-'));
const env = { HOME: path.join(tmp, 'home'), XDG_STATE_HOME: path.join(tmp, 'state'), NO_COLOR: '1' };
let model: string;
let jpeg: Buffer;
const truncated = path.join(tmp, 'truncated.jpg');
const bomb = path.join(tmp, 'bomb.png');

/** A PNG whose header claims 30000x30000 pixels (a decompression bomb: a few bytes, 900 megapixels). */
function pngBomb(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (data: Buffer) => (data.reduce((c, byte) => crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8), 0xffffffff) ^ 0xffffffff) >>> 0;
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(30000, 0);
  header.writeUInt32BE(30000, 4);
  header[8] = 8; // bit depth; colour type 0 (grey), the rest 0
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.alloc(30001 * 4))), chunk('IEND', Buffer.alloc(0))]);
}

before(async () => {
  model = await ensureFixtureModel('tiny');
  jpeg = await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 200, g: 10, b: 10 } } }).jpeg().toBuffer();
  writeFileSync(truncated, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  writeFileSync(bomb, pngBomb());
});

function assertOneCleanLine(result: CliResult, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0] ?? '', pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

test('image bytes piped into ask without "-" are refused with a hint to pass -', async () => {
  const result = await runCli(['ask', '-m', model, '-n', '2'], { stdin: jpeg, env });
  assertOneCleanLine(result, 2, /stdin holds a JPEG image, not a question: pass - as the image/);
  assert.equal(result.stdout, '');
});

test('binary bytes piped into ask as the question are refused', async () => {
  const result = await runCli(['ask', '-m', model, '-n', '2'], { stdin: Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 1, 2, 3]), env });
  assertOneCleanLine(result, 2, /stdin holds binary data, not a question/);
});

test('chat /image of a truncated file or a decompression bomb names the file', async () => {
  const result = await runCli(['chat', '-m', model, '-n', '2'], { stdin: `/image ${truncated}\n/image ${bomb}\n`, env });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`cannot (decode|read) image "${truncated.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
  assert.match(result.stderr, new RegExp(`refusing image "${bomb.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}": 30000x30000`));
  assert.doesNotMatch(result.stderr, /image bytes|\n\s+at /);
});

test('chat /save and /load failures name the file and the reason in words', async () => {
  const aFile = path.join(tmp, 'a-file');
  writeFileSync(aFile, 'x');
  const input = `/save ${aFile}/chat.md\n/save ${tmp}/missing/chat.json\n/load ${tmp}\n`;
  const result = await runCli(['chat', '-m', model, '-n', '2'], { stdin: input, env });
  assert.match(result.stderr, new RegExp(`cannot write ${aFile}/chat\\.md: a part of the path is a file, not a folder`));
  assert.match(result.stderr, /cannot write .*missing\/chat\.json: no such file or folder/);
  assert.match(result.stderr, /cannot read .*: it is a folder/);
  assert.doesNotMatch(result.stderr, /E[A-Z]{3,}/, 'no bare error codes');
});

test('an image or random bytes piped into chat are refused before any turn', async () => {
  for (const stdin of [jpeg, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from([0xc3, 0x28, 0x01, 0x02, 0x0a, 0x41])]) {
    const result = await runCli(['chat', '-m', model, '-n', '2'], { stdin, env });
    assertOneCleanLine(result, 2, /stdin holds binary data \(an image\?\), not chat messages/);
    assert.equal(result.stdout, '');
  }
});

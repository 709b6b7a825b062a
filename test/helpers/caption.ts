/**
 * Helpers for the caption tests: small real images on disk, the fake captioner (fake-captioner.ts),
 * and reading back the JSON lines a run wrote.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { SmolVLMError, type ErrorCode } from '../../src/core/errors.js';

export { fakeCaption, fakeCaptioner, type FakeCaptioner, type FakeCaptionerOptions } from './fake-captioner.js';

/** Writes a small PNG (or JPEG, by extension) at each relative path under `root`; returns absolute paths. */
export async function makeImages(root: string, names: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const [i, name] of names.entries()) {
    const file = path.join(root, name);
    await mkdir(path.dirname(file), { recursive: true });
    const image = sharp({ create: { width: 8 + i, height: 6, channels: 3, background: { r: (i * 37) % 256, g: 80, b: 160 } } });
    await writeFile(file, await (/\.jpe?g$/i.test(name) ? image.jpeg() : image.png()).toBuffer());
    files.push(file);
  }
  return files;
}

/** The records of a JSON-lines file; asserts that every line is complete JSON. */
export async function readJsonl(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `${file} ends with a newline`);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line, i) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return assert.fail(`line ${i + 1} of ${file} is not JSON: ${line}`);
      }
    });
}

/** Asserts that the promise rejects with SmolVLMError(code), one line, matching `message`. */
export async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<SmolVLMError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SmolVLMError, `expected SmolVLMError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.ok(!error.message.includes('\n'), `message is one line: ${error.message}`);
    if (message) assert.match(error.message, message);
    return error;
  }
  return assert.fail(`expected a ${code} rejection`);
}

/** Drains a run (any async iterable) into an array. */
export async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

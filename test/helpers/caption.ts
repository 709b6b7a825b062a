/**
 * Helpers for the caption tests: small real images on disk, a deterministic fake captioner, and
 * reading back the JSON lines a run wrote.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { SmolVLMError, type ErrorCode } from '../../src/core/errors.js';
import type { CaptionOutput, CaptionRequest, Captioner } from '../../src/core/caption/index.js';

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

/** The fake captioner's text for an image: a function of its file name only. */
export function fakeCaption(file: string): string {
  return `a picture named ${path.basename(file)}`;
}

export interface FakeCaptionerOptions {
  model?: string;
  concurrency?: number;
  /** Waits this long per image (honouring the signal). */
  delayMs?: number;
  /** Throw this for the images it returns an error for. */
  failFor?: (file: string) => Error | undefined;
}

export interface FakeCaptioner extends Captioner {
  /** Paths captioned, in the order the calls started. */
  calls: string[];
  /** Most calls that were in flight together. */
  maxInFlight: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new SmolVLMError('ABORTED', 'cancelled'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new SmolVLMError('ABORTED', 'cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Captions each image with fakeCaption(path), optionally slowly or failing for some. */
export function fakeCaptioner(options: FakeCaptionerOptions = {}): FakeCaptioner {
  let inFlight = 0;
  const captioner: FakeCaptioner = {
    model: options.model ?? 'fake/model',
    concurrency: options.concurrency ?? 1,
    calls: [],
    maxInFlight: 0,
    async caption(request: CaptionRequest): Promise<CaptionOutput> {
      captioner.calls.push(request.image.path);
      inFlight++;
      captioner.maxInFlight = Math.max(captioner.maxInFlight, inFlight);
      try {
        await sleep(options.delayMs ?? 0, request.signal);
        const failure = options.failFor?.(request.image.path);
        if (failure) throw failure;
        const text = fakeCaption(request.image.path);
        return { text, finishReason: 'eos', usage: { promptTokens: 10, completionTokens: text.length }, timings: { decodeMs: 1 } };
      } finally {
        inFlight--;
      }
    },
  };
  return captioner;
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

/**
 * A deterministic fake captioner for the caption tests (no model, no sharp: child processes that
 * import it start quickly).
 */
import path from 'node:path';
import { SmolVLMError } from '../../src/core/errors.js';
import type { CaptionOutput, CaptionRequest, Captioner } from '../../src/core/caption/types.js';

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

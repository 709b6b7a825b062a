/**
 * A caption run: images in, one result per image out (an async iterator), records and sidecars
 * written as each caption finishes. Images are read a few ahead of the captioner, which works on
 * `concurrency` of them at once. A failed image never stops the run; an abort stops it at once, with
 * every line and sidecar either completely written or not at all.
 */
import { SmolVLMError, isSmolVLMError, type ErrorCode } from '../errors.js';
import { DESCRIBE_PROMPT } from '../prompt.js';
import { validateSettings, type GenerationSettings } from '../settings.js';
import { openOutputs, type OpenOutputs, type OutputOptions } from './outputs.js';
import { planRun, type CaptionJob } from './plan.js';
import { fileImageReader } from './reader.js';
import { captionRecord, errorRecord, type RecordContext } from './records.js';
import { writeFileAtomic } from './sidecar.js';
import { RunTally } from './tally.js';
import type { CaptionFailure, CaptionImage, CaptionProgress, CaptionResult, CaptionSummary, Captioner, ImageReader } from './types.js';

export interface CaptionRunOptions extends OutputOptions {
  captioner: Captioner;
  /**
   * The instruction sent with every image (default DESCRIBE_PROMPT, as `smolvlm describe`); part of
   * each record (a resumed file must have the same).
   */
  prompt?: string;
  settings?: GenerationSettings;
  /** Stops the run at once: iteration then throws an ABORTED SmolVLMError (summary().interrupted is true). */
  signal?: AbortSignal;
  /** How images are read (default: bytes only). A prefetching reader also decodes them; the caller closes it. */
  reader?: ImageReader;
  /** Images read ahead of those being captioned (default 2). */
  prefetch?: number;
  /** After each result and when an image starts. */
  onProgress?: (progress: CaptionProgress) => void;
  /** Things worth telling the user that are not results (a repaired output file). */
  onNotice?: (message: string) => void;
}

export const DEFAULT_PREFETCH = 2;

/** Errors that would fail every image the same way: they stop the run instead of failing one image. */
const RUN_STOPPING_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['USAGE', 'MODEL_NOT_FOUND', 'MODEL_FILE_MISSING', 'MODEL_INVALID', 'HUB_AUTH']);

type ReadOutcome = { image: CaptionImage } | { failure: CaptionFailure };

function failureOf(error: unknown): CaptionFailure {
  if (isSmolVLMError(error)) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: message.split('\n')[0] || 'unexpected error' };
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new SmolVLMError('USAGE', `${name} must be an integer >= 1, got ${value}`);
  return value;
}

/** One caption run; iterate it once. `summary()` is up to date at any time (also after an abort or an error). */
export class CaptionRun implements AsyncIterable<CaptionResult> {
  readonly #images: readonly string[];
  readonly #options: CaptionRunOptions;
  readonly #context: RecordContext;
  readonly #tally: RunTally;
  /** Aborted by the caller's signal or by a run-stopping error. */
  readonly #stop = new AbortController();
  #fatal: unknown;
  #iterated = false;

  constructor(images: readonly string[], options: CaptionRunOptions) {
    const prompt = options.prompt ?? DESCRIBE_PROMPT;
    if (prompt.trim() === '') throw new SmolVLMError('USAGE', 'the caption prompt must not be empty');
    positiveInteger(options.captioner.concurrency, 'concurrency');
    positiveInteger(options.prefetch ?? DEFAULT_PREFETCH, 'prefetch');
    validateSettings({ ...options.settings });
    this.#images = images;
    this.#options = options;
    this.#context = { model: options.captioner.model, prompt };
    this.#tally = new RunTally(images.length, options.onProgress);
  }

  summary(): CaptionSummary {
    return this.#tally.summary(this.#options.signal?.aborted === true);
  }

  [Symbol.asyncIterator](): AsyncIterator<CaptionResult> {
    if (this.#iterated) throw new Error('a CaptionRun can be iterated only once');
    this.#iterated = true;
    return this.#run();
  }

  async *#run(): AsyncGenerator<CaptionResult> {
    const external = this.#options.signal;
    if (external?.aborted) throw new SmolVLMError('ABORTED', 'captioning was cancelled');
    const onAbort = () => this.#stop.abort();
    external?.addEventListener('abort', onAbort, { once: true });
    const { captioner } = this.#options;
    const ownReader = this.#options.reader === undefined && captioner.reader === undefined;
    const reader = this.#options.reader ?? captioner.reader ?? fileImageReader();
    let outputs: OpenOutputs | undefined;
    try {
      outputs = await openOutputs(this.#options, this.#context, this.#options.onNotice ?? (() => {}));
      this.#tally.start();
      const steps = await planRun(this.#images, outputs, this.#options.overwrite === true);
      this.#tally.setTotal(steps.length);
      const jobs: CaptionJob[] = [];
      for (const step of steps) {
        if (step.kind === 'caption') jobs.push(step.job);
        else yield await this.#settle(outputs, step.kind === 'settled' ? step.result : await this.#restore(step));
        if (this.#stop.signal.aborted) break;
      }
      if (jobs.length > 0 && !this.#stop.signal.aborted) await captioner.ready?.({ settings: this.#settings(), signal: this.#stop.signal });
      for await (const result of this.#captionAll(jobs, outputs, reader)) yield result;
      if (this.#fatal !== undefined) throw this.#fatal;
      if (external?.aborted) throw new SmolVLMError('ABORTED', 'captioning was cancelled');
    } finally {
      this.#stop.abort();
      external?.removeEventListener('abort', onAbort);
      this.#tally.finish();
      if (ownReader) await reader.close?.();
      await outputs?.close();
    }
  }

  /** Writes a sidecar from the record's text: the image is done, only that file was missing. */
  async #restore(step: { path: string; fileName: string; sidecar: string; text: string }): Promise<CaptionResult> {
    try {
      await writeFileAtomic(step.sidecar, step.text);
      return { status: 'skipped', path: step.path, fileName: step.fileName, reason: 'restored' };
    } catch (error) {
      return { status: 'failed', path: step.path, fileName: step.fileName, error: failureOf(error) };
    }
  }

  /** Counts a result and logs a failure to the errors file. */
  async #settle(outputs: OpenOutputs, result: CaptionResult): Promise<CaptionResult> {
    if (result.status === 'failed') {
      await outputs.errors?.append(errorRecord(result.fileName, result.error, this.#context)).catch((error: unknown) => {
        this.#halt(new SmolVLMError('USAGE', `cannot write the errors file: ${failureOf(error).message}`, { cause: error }));
      });
    }
    this.#tally.add(result);
    return result;
  }

  /** Reads ahead and keeps `concurrency` captions in flight; yields results as they finish. */
  async *#captionAll(jobs: readonly CaptionJob[], outputs: OpenOutputs, reader: ImageReader): AsyncGenerator<CaptionResult> {
    const concurrency = this.#options.captioner.concurrency;
    const prefetch = this.#options.prefetch ?? DEFAULT_PREFETCH;
    const reads = new Map<number, Promise<ReadOutcome>>();
    const inFlight = new Map<number, Promise<{ index: number; result?: CaptionResult }>>();
    let nextRead = 0;
    let nextStart = 0;
    const readAhead = () => {
      for (; nextRead < jobs.length && nextRead < nextStart + prefetch; nextRead++) reads.set(nextRead, this.#read(reader, jobs[nextRead]!.path));
    };
    try {
      while (inFlight.size > 0 || (nextStart < jobs.length && !this.#stop.signal.aborted)) {
        while (!this.#stop.signal.aborted && inFlight.size < concurrency && nextStart < jobs.length) {
          readAhead();
          const index = nextStart++;
          const read = reads.get(index)!;
          reads.delete(index);
          const processed = this.#process(jobs[index]!, read, outputs).then(
            (result) => ({ index, result }),
            (error: unknown) => ({ index, result: this.#halt(error) }),
          );
          inFlight.set(index, processed);
        }
        readAhead();
        const finished = await Promise.race(inFlight.values());
        inFlight.delete(finished.index);
        if (finished.result) yield finished.result;
      }
    } finally {
      // Left early (the consumer stopped iterating, or an error): stop, and let started writes finish
      // before the outputs are closed.
      this.#stop.abort();
      await Promise.all(inFlight.values());
    }
  }

  #read(reader: ImageReader, path: string): Promise<ReadOutcome> {
    return reader.read(path, this.#stop.signal).then(
      (image) => ({ image }),
      (error: unknown) => ({ failure: failureOf(error) }),
    );
  }

  /** Read, caption, write; undefined when the run stopped before this image's outputs were written. */
  async #process(job: CaptionJob, read: Promise<ReadOutcome>, outputs: OpenOutputs): Promise<CaptionResult | undefined> {
    const { path, fileName } = job;
    const outcome = await read;
    if (this.#stop.signal.aborted) return undefined;
    if ('failure' in outcome) return this.#settle(outputs, { status: 'failed', path, fileName, error: outcome.failure });
    const started = performance.now();
    this.#tally.begin(path);
    let output;
    try {
      output = await this.#options.captioner.caption({
        image: outcome.image,
        prompt: this.#context.prompt,
        settings: this.#settings(),
        signal: this.#stop.signal,
      });
    } catch (error) {
      if (this.#stop.signal.aborted) return undefined;
      if (isSmolVLMError(error) && RUN_STOPPING_CODES.has(error.code)) return this.#halt(error);
      return this.#settle(outputs, { status: 'failed', path, fileName, error: failureOf(error) });
    }
    if (this.#stop.signal.aborted) return undefined;
    // From here the image's outputs are written whatever happens to the signal: a run waits for them.
    try {
      if (job.sidecar !== undefined) await writeFileAtomic(job.sidecar, output.text);
    } catch (error) {
      return this.#settle(outputs, { status: 'failed', path, fileName, error: failureOf(error) });
    }
    const ms = performance.now() - started;
    try {
      if (job.writeRecord) await outputs.records?.append(captionRecord(fileName, output, this.#context, ms));
    } catch (error) {
      return this.#halt(new SmolVLMError('USAGE', `cannot write the output: ${failureOf(error).message}`, { cause: error }));
    }
    return this.#settle(outputs, { status: 'done', path, fileName, output, ms });
  }

  #settings(): Readonly<GenerationSettings> {
    return this.#options.settings ?? {};
  }

  /** Stops the run with `error` (thrown by the iterator once in-flight images have settled). */
  #halt(error: unknown): undefined {
    this.#fatal ??= error;
    this.#stop.abort();
    return undefined;
  }
}

/**
 * Captions `images` (paths, e.g. from collectImages) with `options.captioner`, writing the outputs
 * the options name: iterate the returned run for one result per image, in the order they finish.
 */
export function captionImages(images: readonly string[], options: CaptionRunOptions): CaptionRun {
  return new CaptionRun(images, options);
}

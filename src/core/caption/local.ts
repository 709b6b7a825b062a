/**
 * The local captioner: a SmolVLM on this machine. Its reader decodes, resizes and tiles images on a
 * worker thread ahead of the model (prefetch.ts); the tiles become prepared images without being
 * decoded again, and each caption goes to the engine: the model's own generate(), or a batched
 * scheduler that decodes the captions in flight together (`batch` of them).
 *
 * The request is the one `smolvlm describe` makes (the system message, then the image and the
 * prompt in one user message; the same settings), so a greedy caption equals describe's answer.
 */
import type { OutputFormat } from '../structured/index.js';
import { BatchScheduler } from '../generation/scheduler.js';
import { imageOptions as imageOptionsOf } from '../conversation/images.js';
import { SmolVLMError } from '../errors.js';
import type { SamplingOptions } from '../generation/sampling.js';
import type { TextStream } from '../generation/stream.js';
import type { SmolVLM, GenerateRequest, GenerationResult, ImageOptions, PreparedImage } from '../model.js';
import type { ChatMessage } from '../prompt.js';
import type { GenerationSettings } from '../settings.js';
import { DEFAULT_CAPTION_BATCH } from './defaults.js';
import { PrefetchingImageReader } from './prefetch.js';
import type { CaptionImage, CaptionOutput, CaptionRequest, Captioner, ImageReader } from './types.js';

/**
 * What decodes the captions: anything with the model's generate() semantics. A batched scheduler
 * (several sequences per decoder call) fits as it is.
 */
export interface CaptionEngine {
  generate(request: GenerateRequest): TextStream<GenerationResult>;
  close?(): void;
}

/** Makes the engine once the model is loaded; `maxBatch` is the captioner's `batch`. */
export type CaptionEngineFactory = (model: SmolVLM, options: { maxBatch: number }) => CaptionEngine;

/** The model's generate(), one sequence per call (concurrent calls interleave). */
export const modelEngine: CaptionEngineFactory = (model) => ({ generate: (request) => model.generate(request) });

/** The default engine: the batched scheduler, the captions in flight decoded together in one decoder call per step. */
export const batchedEngine: CaptionEngineFactory = (model, { maxBatch }) => new BatchScheduler(model, { maxBatch });

export { DEFAULT_CAPTION_BATCH } from './defaults.js';

interface LocalCaptionerCommon {
  /** Structured output: each caption constrained to JSON or a JSON Schema; the record carries the parsed `data`. */
  format?: OutputFormat;
  /** Captions in flight at once, decoded together by a batched engine (default DEFAULT_CAPTION_BATCH). */
  batch?: number;
  /** A system message before each image, as `describe --system`. */
  system?: string;
  /** What decodes (default batchedEngine; modelEngine decodes one sequence per call). */
  engine?: CaptionEngineFactory;
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels?: number;
  /** Byte cap per image (default: the image loader's, 50 MiB). */
  maxBytes?: number;
  /** Decode images on the calling thread instead of a worker (for measurements; the captions are the same). */
  inThread?: boolean;
}

export type LocalCaptionerOptions = LocalCaptionerCommon &
  (
    | {
        /** A loaded model. */
        model: SmolVLM;
        /** Names the model in every record (default: the model directory). */
        name?: string;
      }
    | {
        /**
         * Loads the model when a run first has an image to caption: a run with nothing left to do, or
         * whose output file is refused, never loads it.
         */
        model: (signal: AbortSignal) => Promise<SmolVLM>;
        name: string;
      }
  );

function samplingOf(settings: Readonly<GenerationSettings>): SamplingOptions {
  const { temperature, topK, topP, minP, repetitionPenalty, seed } = settings;
  return { temperature, topK, topP, minP, repetitionPenalty, seed };
}

/** A SmolVLM as a Captioner; close() it when done (it stops its reader's worker and its engine). */
export class LocalCaptioner implements Captioner {
  readonly model: string;
  readonly concurrency: number;
  /** Reads images with their tiles ready, once ready() knows the model and the run's image settings. */
  readonly reader: ImageReader;
  readonly #options: LocalCaptionerOptions;
  #loading: Promise<SmolVLM> | undefined;
  #engine: CaptionEngine | undefined;
  #prefetch: PrefetchingImageReader | undefined;
  #closed = false;

  constructor(options: LocalCaptionerOptions) {
    const batch = options.batch ?? DEFAULT_CAPTION_BATCH;
    if (!Number.isSafeInteger(batch) || batch < 1) throw new SmolVLMError('USAGE', `batch must be an integer >= 1, got ${batch}`);
    const name = options.name ?? (typeof options.model === 'function' ? '' : options.model.directory.dir);
    if (name.trim() === '') throw new SmolVLMError('USAGE', 'the model name must not be empty');
    this.model = name;
    this.concurrency = batch;
    this.#options = options;
    this.reader = { read: (path, signal) => this.#read(path, signal) };
  }

  /** Loads the model (once) and starts the reader with the run's image settings. */
  async ready(run: { settings: Readonly<GenerationSettings>; signal: AbortSignal }): Promise<void> {
    const model = await this.#model(run.signal);
    this.#engineFor(model);
    if (this.#prefetch || this.#closed) return;
    this.#prefetch = new PrefetchingImageReader({
      processor: model.imageProcessorOptions(imageOptionsOf(run.settings)),
      maxPixels: this.#options.maxPixels,
      maxBytes: this.#options.maxBytes,
      inThread: this.#options.inThread,
    });
  }

  async caption(request: CaptionRequest): Promise<CaptionOutput> {
    const model = await this.#model(request.signal);
    const engine = this.#engineFor(model);
    const { settings, signal } = request;
    const image = await this.#prepare(model, request.image, imageOptionsOf(settings), signal);
    const messages: ChatMessage[] = [];
    if (this.#options.system !== undefined) messages.push({ role: 'system', content: [{ type: 'text', text: this.#options.system }] });
    messages.push({ role: 'user', content: [{ type: 'image', image }, { type: 'text', text: request.prompt }] });
    const stream = engine.generate({
      messages,
      ...(settings.maxTokens !== undefined ? { maxNewTokens: settings.maxTokens } : {}),
      sampling: samplingOf(settings),
      ...(settings.stop ? { stop: settings.stop } : {}),
      ...(this.#options.format !== undefined ? { format: this.#options.format } : {}),
      signal,
    });
    const result = await stream.result;
    if (result.finishReason === 'aborted' || signal.aborted) throw new SmolVLMError('ABORTED', `captioning ${request.image.path} was cancelled`);
    return outputOf(result);
  }

  /** Stops the reader's worker and the engine. */
  async close(): Promise<void> {
    this.#closed = true;
    const prefetch = this.#prefetch;
    this.#prefetch = undefined;
    this.#engine?.close?.();
    this.#engine = undefined;
    await prefetch?.close();
  }

  #model(signal: AbortSignal): Promise<SmolVLM> {
    const { model } = this.#options;
    this.#loading ??= typeof model === 'function' ? model(signal) : Promise.resolve(model);
    return this.#loading;
  }

  #engineFor(model: SmolVLM): CaptionEngine {
    if (this.#closed) throw new SmolVLMError('ABORTED', 'the captioner is closed');
    this.#engine ??= (this.#options.engine ?? batchedEngine)(model, { maxBatch: this.concurrency });
    return this.#engine;
  }

  #read(path: string, signal: AbortSignal): Promise<CaptionImage> {
    if (!this.#prefetch) throw new SmolVLMError('USAGE', 'the local captioner reads images only after ready()');
    return this.#prefetch.read(path, signal);
  }

  /** The reader's tiles as a prepared image; without them (another reader), decoded here. */
  #prepare(model: SmolVLM, image: CaptionImage, options: ImageOptions, signal: AbortSignal): Promise<PreparedImage> {
    if (image.pixels) return Promise.resolve(model.preparedImageFromTiles(image.pixels, image.pixels.sha256, options, image.path));
    return model.prepareImage(image.bytes, { ...options, maxPixels: this.#options.maxPixels }, { signal });
  }
}

function timingsOf(result: GenerationResult): Record<string, number> {
  const { encodeMs, prefillMs, firstTokenMs, decodeMs, decodeTokensPerSecond, totalMs } = result.timings;
  return { encodeMs, prefillMs, firstTokenMs, decodeMs, decodeTokensPerSecond, generateMs: totalMs };
}

function outputOf(result: GenerationResult): CaptionOutput {
  const { usage } = result;
  return {
    text: result.text,
    finishReason: result.finishReason,
    usage: { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, imageTokens: usage.imageTokens, cachedTokens: usage.cachedTokens },
    timings: timingsOf(result),
    ...(result.structured?.complete ? { data: result.structured.data } : {}),
  };
}

/** A SmolVLM (or a function loading one) as a Captioner: see LocalCaptionerOptions. */
export function createLocalCaptioner(options: LocalCaptionerOptions): LocalCaptioner {
  return new LocalCaptioner(options);
}

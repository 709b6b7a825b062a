/**
 * The shapes a caption run is made of: the image a captioner receives, what it answers, and the
 * results and progress a run reports. Kept apart from the run so that captioners (local, remote,
 * fakes in tests) depend only on this file.
 */
import type { ImageFormat } from '../image/sniff.js';
import type { GenerationSettings } from '../settings.js';
import type { PreparedPixels } from './prepare.js';

/** One image, read (and perhaps decoded ahead) for a captioner. */
export interface CaptionImage {
  /** Absolute path. */
  path: string;
  /** The file's bytes. */
  bytes: Uint8Array;
  /** What the bytes sniffed as (never undefined: non-images fail before they reach a captioner). */
  format: ImageFormat;
  /** Decoded, resized and tiled by a prefetching reader; undefined from the plain reader. */
  pixels?: PreparedPixels;
}

/** What a captioner is asked for one image. */
export interface CaptionRequest {
  image: CaptionImage;
  prompt: string;
  settings: Readonly<GenerationSettings>;
  /** Aborted when the run stops: the captioner must reject promptly (an ABORTED SmolVLMError). */
  signal: AbortSignal;
}

/** Token counts of one caption (the record's `usage`, snake_cased). */
export interface CaptionUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens the image took, when the captioner knows. */
  imageTokens?: number;
  /** Prompt tokens served from a cache, when the captioner knows. */
  cachedTokens?: number;
}

/**
 * Durations and rates of one caption by camelCase name (`totalMs`, `decodeTokensPerSecond`...); the
 * record's `timings` has them snake_cased. A run adds `totalMs` (its own wall time for the image)
 * when the captioner gives none.
 */
export type CaptionTimings = Readonly<Record<string, number>>;

/** A captioner's answer for one image. */
export interface CaptionOutput {
  text: string;
  /** Why generation ended, in the captioner's words (`eos`, `length`, `stop` locally; `stop`, `length` remotely). */
  finishReason: string;
  usage?: CaptionUsage;
  timings?: CaptionTimings;
  /** The parsed structured answer (a JSON value, with --format or --schema), written as the record's `data`. */
  data?: unknown;
}

/**
 * Turns images into captions. A run keeps up to `concurrency` `caption()` calls in flight: a remote
 * captioner sends that many requests at once, a batched local one gathers the calls that are in flight
 * into decoder rows (a new call joins at the next step). Both fit the same interface.
 */
export interface Captioner {
  /** Names the model in every record; resuming refuses an output file written with another model. */
  readonly model: string;
  /** Images worked on at once (>= 1). */
  readonly concurrency: number;
  caption(request: CaptionRequest): Promise<CaptionOutput>;
  /**
   * Called once by a run that has images to caption, after its outputs are opened and checked and
   * before the first image is read: a local captioner loads its model here, so that a run with
   * nothing left to do, or a refused output file, never loads it.
   */
  ready?(run: { settings: Readonly<GenerationSettings>; signal: AbortSignal }): Promise<void>;
  /** How this captioner wants images read (a local one decodes them ahead on a worker); a run's `reader` option wins. */
  readonly reader?: ImageReader;
}

/** Reads one image for a captioner; a prefetching reader also decodes it. */
export interface ImageReader {
  read(path: string, signal: AbortSignal): Promise<CaptionImage>;
  /** Frees what the reader holds (worker threads). A run closes only the reader it made itself. */
  close?(): Promise<void>;
}

/** An error as a result carries it: the SmolVLMError code (or INTERNAL) and its one-line message. */
export interface CaptionFailure {
  code: string;
  message: string;
}

interface ResultBase {
  /** Absolute path of the image. */
  path: string;
  /** The name the record has: relative to the output file's folder when inside it, else absolute. */
  fileName: string;
}

/** One image's outcome, yielded by a run in the order images finish. */
export type CaptionResult =
  | (ResultBase & { status: 'done'; output: CaptionOutput; /** Wall time of read + caption + writes. */ ms: number })
  | (ResultBase & {
      status: 'skipped';
      /** `record`: in the output file; `sidecar`: its sidecar exists; `restored`: sidecar written from its record. */
      reason: 'record' | 'sidecar' | 'restored';
    })
  | (ResultBase & { status: 'failed'; error: CaptionFailure });

/** Counts so far, for a progress bar or status line. */
export interface CaptionProgress {
  total: number;
  /** captioned + skipped + failed. */
  completed: number;
  captioned: number;
  skipped: number;
  failed: number;
  elapsedMs: number;
  /** Captioned images per minute since the first caption began (0 before one finishes). */
  imagesPerMinute: number;
  /** Time left at the current rate; undefined until a rate is known. */
  etaMs?: number;
  /** The image most recently started. */
  current?: string;
}

/** A run's end: counts, rate and wall time. */
export interface CaptionSummary {
  total: number;
  captioned: number;
  skipped: number;
  failed: number;
  /** Captioned images per minute from the first caption on (as in progress reports: model loading and skipped images left out). */
  imagesPerMinute: number;
  wallMs: number;
  /** True when the run was stopped by its signal. */
  interrupted: boolean;
}

import { VIDEO_RESIZE_MODES, type VideoResize } from './generation/videos.js';
import type { DtypeSpec } from './model-files/dtypes.js';
import type { RuntimeOptions } from './runtime.js';
import { describeValue, isRecord, usageError } from './untyped.js';

export interface LoadOptions extends RuntimeOptions {
  /** One dtype for all sessions or one per session; default: the first present of DEFAULT_DTYPE_PREFERENCE. */
  dtype?: DtypeSpec;
  /**
   * Image tiles per vision encoder call (default DEFAULT_VISION_TILES_PER_CALL): bounds the encoder's
   * memory. 0 encodes all new images of a request in one call, as the reference implementations do;
   * int8/uint8 encoders quantize activations per call, so only 0 reproduces their features bit for bit
   * (fp32, fp16 and q4 give the same features either way). See the README's Performance section.
   */
  visionTilesPerCall?: number;
  /**
   * How video frames are resized (see the README's Video section): 'model' (default) as the models
   * were released, 'transformers' as current transformers does, 'transformers-4' as transformers 4.5x.
   */
  videoResize?: VideoResize;
  /**
   * Run the decoder once at load (a throwaway call over two positions), so that the first answer does
   * not pay for mapping the decoder's weights in and onnxruntime's first-run set-up: its time to the
   * first token halves (256M int8, text). Default true, as llama.cpp warms up at load: a program loads
   * once and answers later. The load takes longer by a little more than the first answer saves (a
   * one-shot answer took about 7% longer in all), so `smolvlm describe`, `ask` and `story`, whose load
   * is on the way to their only answer, pass false.
   */
  warmUp?: boolean;
}

/** Throws a USAGE SmolVLMError unless SmolVLM.load got a directory path and well-formed options (dtype names are checked when the directory is read). */
export function checkLoadArguments(dir: unknown, options: unknown): void {
  if (typeof dir !== 'string' || dir === '') usageError(`SmolVLM.load needs the path of a model directory, got ${describeValue(dir)}`);
  if (!isRecord(options)) usageError(`SmolVLM.load options must be an object, got ${describeValue(options)}`);
  const { threads, visionTilesPerCall, cacheDir, onWarning, dtype, videoResize, warmUp } = options;
  if (warmUp !== undefined && typeof warmUp !== 'boolean') usageError(`warmUp must be true or false, got ${describeValue(warmUp)}`);
  if (threads !== undefined && !isIntegerFrom(threads, 1)) usageError(`threads must be an integer >= 1, got ${describeValue(threads)}`);
  if (visionTilesPerCall !== undefined && !isIntegerFrom(visionTilesPerCall, 0)) {
    usageError(`visionTilesPerCall must be an integer >= 0, got ${describeValue(visionTilesPerCall)}`);
  }
  if (cacheDir !== undefined && cacheDir !== false && typeof cacheDir !== 'string') usageError(`cacheDir must be a folder path or false, got ${describeValue(cacheDir)}`);
  if (onWarning !== undefined && typeof onWarning !== 'function') usageError(`onWarning must be a function, got ${describeValue(onWarning)}`);
  if (videoResize !== undefined && !VIDEO_RESIZE_MODES.some((mode) => mode === videoResize)) {
    usageError(`videoResize must be ${VIDEO_RESIZE_MODES.map((m) => `"${m}"`).join(', ')}, got ${describeValue(videoResize)}`);
  }
  if (dtype !== undefined && typeof dtype !== 'string' && !isRecord(dtype)) usageError(`dtype must be a dtype name or one per session, got ${describeValue(dtype)}`);
}

function isIntegerFrom(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

/**
 * Video frames into vision-encoder input, as SmolVLM2's processor prepares them: never split; the
 * longest edge to `video_sampling.video_size.longest_edge` (aspect kept, odd sides made even), then
 * squashed to the square `max_image_size`; then rescale and normalise fused, `(x - mean / r) / (std / r)`
 * in float32. Each frame is one global image: 3 x M x M floats, the layout `preprocessImage` gives an
 * unsplit image.
 *
 * The resampling kernel is the config's `resample` (1 = Lanczos in the official repos), Pillow-exact.
 * That is what the processor SmolVLM2 was released with did (PIL, Lanczos) and what transformers 5.x
 * does (torchvision's tensor Lanczos, within one level of Pillow's). transformers 4.5x's torch path,
 * whose torchvision had no tensor Lanczos, used antialiased bicubic instead: `resample: 'bicubic'`.
 * transformers 4.5x and 5.x also replace `video_size` by `size` (2048) for the first resize whenever a
 * config has both: `sizeOverridesVideoSize` reproduces that; the default keeps the model's `video_size`.
 */
import { SmolVLMError } from '../errors.js';
import { imageProcessorOptionsFromConfig, longestEdgeSize } from '../image/preprocess.js';
import { BICUBIC, LANCZOS, resizeChain } from '../image/resample.js';
import type { RawImage } from '../image/types.js';
import type { VideoSamplingOptions } from './sampling.js';

/** Python's MAX_IMAGE_SIZE in the video processor: the first resize's edge is capped at 4096. */
const MAX_IMAGE_SIZE = 4096;

export type VideoResample = 'lanczos' | 'bicubic';

export interface VideoProcessorOptions {
  /** `video_sampling.fps` and `.max_frames`. */
  sampling: VideoSamplingOptions;
  /** Long side after the first resize (`video_sampling.video_size.longest_edge`). */
  longestEdge: number;
  /** Side M of the square frame the vision encoder takes (`max_image_size.longest_edge`). */
  frameSize: number;
  /** Kernel of both resizes (Pillow's, antialiased). */
  resample: VideoResample;
  rescaleFactor: number;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

function record(value: unknown, key: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new SmolVLMError('MODEL_INVALID', `preprocessor_config.json: ${key} must be an object, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

function positive(value: unknown, key: string, integer: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new SmolVLMError('MODEL_INVALID', `preprocessor_config.json: ${key} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** PIL's resampling enum as configs store it: 3 = BICUBIC; 1 = LANCZOS, also taken for anything else. */
function resampleFromConfig(value: unknown): VideoResample {
  return value === 3 ? 'bicubic' : 'lanczos';
}

export interface VideoConfigOptions {
  /** Overrides the config's `resample` (see the module comment). */
  resample?: VideoResample;
  /**
   * Take the first resize's edge from `size.longest_edge` instead of `video_sampling.video_size`.
   * transformers (4.5x-5.x) does this whenever both keys are present, which they are in the official
   * repos (2048 instead of 512); the models' own `video_size` is the default here.
   */
  sizeOverridesVideoSize?: boolean;
}

/**
 * The video settings of a `preprocessor_config.json`, or undefined when it has no `video_sampling`
 * (a model that was not trained on video: SmolVLM v1).
 */
export function videoProcessorOptionsFromConfig(preprocessorConfigJson: unknown, options: VideoConfigOptions = {}): VideoProcessorOptions | undefined {
  const cfg = record(preprocessorConfigJson, 'the file');
  if (cfg.video_sampling === undefined || cfg.video_sampling === null) return undefined;
  const sampling = record(cfg.video_sampling, 'video_sampling');
  const image = imageProcessorOptionsFromConfig(preprocessorConfigJson);
  const videoSize = record(sampling.video_size, 'video_sampling.video_size');
  const sizeEdge = record(cfg.size, 'size').longest_edge;
  const edge = options.sizeOverridesVideoSize && sizeEdge !== undefined ? sizeEdge : (videoSize.longest_edge ?? image.tileSize);
  return {
    sampling: {
      fps: positive(sampling.fps ?? 1, 'video_sampling.fps', false),
      maxFrames: positive(sampling.max_frames ?? 64, 'video_sampling.max_frames', true),
    },
    longestEdge: positive(edge, 'video_sampling.video_size.longest_edge', true),
    frameSize: image.tileSize,
    resample: options.resample ?? resampleFromConfig(cfg.resample),
    rescaleFactor: image.rescaleFactor,
    imageMean: image.imageMean,
    imageStd: image.imageStd,
  };
}

/** [width, height] after the first resize (the processor's `get_resize_output_image_size`). */
export function videoFrameResizedSize(width: number, height: number, longestEdge: number): [number, number] {
  return longestEdgeSize(width, height, Math.min(MAX_IMAGE_SIZE, longestEdge));
}

/**
 * Per channel, the float32 value of every 8-bit level as torch computes the fused step: mean and std
 * become float32 tensors times `1 / rescale_factor`, then `(x - mean') / std'` in float32.
 */
function fusedNormalisationTables(options: VideoProcessorOptions): Float32Array[] {
  const inverse = Math.fround(1 / options.rescaleFactor);
  return [0, 1, 2].map((c) => {
    const mean = Math.fround(Math.fround(options.imageMean[c]!) * inverse);
    const std = Math.fround(Math.fround(options.imageStd[c]!) * inverse);
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(v - mean) / std);
    return table;
  });
}

const tableCache = new WeakMap<VideoProcessorOptions, Float32Array[]>();

/** The two resizes: the frame as 8-bit RGB, M x M, before normalisation. */
export function resizeVideoFrame(frame: RawImage, options: VideoProcessorOptions): RawImage {
  if (frame.channels !== 3) throw new RangeError('resizeVideoFrame: frames are RGB');
  const [w, h] = videoFrameResizedSize(frame.width, frame.height, options.longestEdge);
  const M = options.frameSize;
  // Both resizes in one row stream (each skipped when its size is already right, as before).
  return resizeChain('resizeVideoFrame', options.resample === 'bicubic' ? BICUBIC : LANCZOS, frame, [[w, h], [M, M]]);
}

/**
 * One frame as the vision encoder's input: 3 x M x M float32, channel planes in RGB order. Written at
 * `offset` of `out` when given (so a batch of frames can share one tensor), else into a new array.
 */
export function preprocessVideoFrame(frame: RawImage, options: VideoProcessorOptions, out?: Float32Array, offset = 0): Float32Array {
  const square = resizeVideoFrame(frame, options);
  let tables = tableCache.get(options);
  if (!tables) {
    tables = fusedNormalisationTables(options);
    tableCache.set(options, tables);
  }
  const [r, g, b] = tables as [Float32Array, Float32Array, Float32Array];
  const plane = square.width * square.height;
  const target = out ?? new Float32Array(3 * plane);
  if (target.length < offset + 3 * plane) throw new RangeError('preprocessVideoFrame: the output array is too small');
  const data = square.data;
  for (let i = 0, s = 0; i < plane; i++, s += 3) {
    target[offset + i] = r[data[s]!]!;
    target[offset + plane + i] = g[data[s + 1]!]!;
    target[offset + 2 * plane + i] = b[data[s + 2]!]!;
  }
  return target;
}

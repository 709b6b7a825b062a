/**
 * Videos for one model: probed and sampled when prepared (nothing decoded), fitted to the context,
 * and their frames decoded one at a time when the vision encoder wants them. Each frame is one global
 * image (never split), with its own features key.
 */
import { SmolVLMError } from '../errors.js';
import { videoModelAliases } from '../hub/aliases.js';
import { imagePromptString } from '../prompt.js';
import type { TextTokenizer } from '../tokenizer.js';
import { fitVideoToContext, type VideoBudget } from '../video/budget.js';
import { videoProcessorOptionsFromConfig, type VideoConfigOptions, type VideoProcessorOptions } from '../video/frames.js';
import { planVideo, videoFramePixels, type VideoPlan } from '../video/plan.js';
import { videoPromptString } from '../video/prompt.js';
import { sampleFrames, type SampledFrame, type VideoSamplingOptions } from '../video/sampling.js';
import type { VideoFile } from '../video/source.js';
import type { VideoResize } from '../video/resize-modes.js';

export { VIDEO_RESIZE_MODES, type VideoResize } from '../video/resize-modes.js';

export interface VideoOptions {
  /** Frames sampled per second of clip (default: the model's `video_sampling.fps`). */
  fps?: number;
  /** Most frames sampled (default: the model's `video_sampling.max_frames`). */
  maxFrames?: number;
  /** Sample fewer frames instead of refusing a clip that does not fit the context; the usage says so. */
  fit?: boolean;
  /** Told when a video's frames are about to be encoded (`encoded` 0) and after each frame. */
  onProgress?: (progress: VideoProgress) => void;
}

export interface VideoProgress {
  label: string;
  /** Frames encoded so far. */
  encoded: number;
  frames: number;
  /** Set when `fit` sampled fewer frames: how many the settings would have given. */
  reducedFrom?: number;
}

/** A video probed and sampled for this model; reusable across requests (pass it as a message's video). */
export interface PreparedVideo {
  readonly preparedVideo: true;
  label: string;
  plan: VideoPlan;
  /** Prompt tokens this video adds (its intro, frame stamps and one image block per frame). */
  tokens: number;
  /** One features key per sampled frame, in order. */
  frameKeys: string[];
  /** Identifies the content and the frame processing (the features cache key of its frames, less the index). */
  key: string;
  /** Removes the temporary copy of a video read from stdin or a download; nothing for a local file. */
  dispose: () => Promise<void>;
}

export function isPreparedVideo(input: unknown): input is PreparedVideo {
  return typeof input === 'object' && input !== null && (input as PreparedVideo).preparedVideo === true;
}

function frameConfig(resize: VideoResize): VideoConfigOptions {
  if (resize === 'transformers') return { sizeOverridesVideoSize: true };
  if (resize === 'transformers-4') return { sizeOverridesVideoSize: true, resample: 'bicubic' };
  return {};
}

/** Probes, samples and fits videos for one model, and streams their frames as encoder input. */
export class VideoPreparer {
  /** Undefined for a model without `video_sampling` (not trained on video). */
  readonly processor: VideoProcessorOptions | undefined;
  readonly #imageBlock: string;

  constructor(
    preprocessorConfig: unknown,
    readonly resize: VideoResize,
    readonly tokenizer: TextTokenizer,
    imageSeqLen: number,
    /** Names the model when it refuses video. */
    readonly modelName: string,
  ) {
    this.processor = videoProcessorOptionsFromConfig(preprocessorConfig, frameConfig(resize));
    this.#imageBlock = imagePromptString({ rows: 0, cols: 0 }, imageSeqLen);
  }

  /** The model's video settings; VIDEO_UNSUPPORTED naming the video models when it has none. */
  supported(): VideoProcessorOptions {
    if (this.processor) return this.processor;
    throw new SmolVLMError(
      'VIDEO_UNSUPPORTED',
      `${this.modelName} cannot read video (its preprocessor_config.json has no video_sampling); use a video model: ${videoModelAliases().join(' or ')}`,
    );
  }

  /** Probes and samples a video file with the model's sampling, overridden by `options`. */
  async prepare(file: VideoFile, options: VideoOptions = {}, signal?: AbortSignal): Promise<PreparedVideo> {
    const processor = this.supported();
    const plan = await planVideo(file.path, { processor, sampling: samplingOverrides(options), label: file.label, ...(signal ? { signal } : {}) });
    const key = `video:${file.identity}:${processor.longestEdge}:${processor.frameSize}:${processor.resample}`;
    return this.#prepared(plan, key, file.dispose ?? (async () => {}));
  }

  /** The video sampled again with other settings (no probing: the clip's timing is known). */
  resample(video: PreparedVideo, options: VideoOptions): PreparedVideo {
    const sampling: VideoSamplingOptions = { ...this.supported().sampling, ...samplingOverrides(options) };
    return this.#withFrames(video, sampling, sampleFrames(video.plan.info, sampling));
  }

  /**
   * The video with frames that fit `budget` (the whole prompt's tokens counted by it), or
   * CONTEXT_OVERFLOW with the numbers; with `fit`, sampled down (`plan.reducedFrom` says from how many).
   */
  fit(video: PreparedVideo, budget: VideoBudget, fit: boolean): PreparedVideo {
    const fitted = fitVideoToContext(video.plan.info, video.plan.sampling, budget, { fit, label: video.label });
    if (fitted.reducedFrom === undefined) return video;
    const sampling = { ...video.plan.sampling, maxFrames: fitted.maxFrames };
    return this.#withFrames(video, sampling, fitted.frames, fitted.reducedFrom);
  }

  /** The prompt tokens of the whole request if `video` had these frames instead (for fit). */
  withFrames(video: PreparedVideo, frames: readonly SampledFrame[]): PreparedVideo {
    return this.#withFrames(video, video.plan.sampling, [...frames]);
  }

  /** The frames whose keys are in `wanted`, decoded in order, as 3 x M x M encoder input. */
  async *framePixels(video: PreparedVideo, wanted: ReadonlySet<string>, signal?: AbortSignal): AsyncGenerator<{ key: string; pixels: Float32Array }> {
    const frames = video.plan.frames.filter((_, i) => wanted.has(video.frameKeys[i]!));
    if (frames.length === 0) return;
    const keyOf = new Map(video.plan.frames.map((f, i) => [f.index, video.frameKeys[i]!]));
    const plan = { ...video.plan, frames };
    for await (const { frame, pixels } of videoFramePixels(plan, this.supported(), signal ? { signal } : {})) {
      yield { key: keyOf.get(frame.index)!, pixels };
    }
  }

  #withFrames(video: PreparedVideo, sampling: VideoSamplingOptions, frames: SampledFrame[], reducedFrom?: number): PreparedVideo {
    const { reducedFrom: _old, ...rest } = video.plan;
    const plan: VideoPlan = {
      ...rest,
      sampling,
      frames,
      prompt: { duration: video.plan.info.duration, timestamps: frames.map((f) => f.timestamp) },
      ...(reducedFrom !== undefined ? { reducedFrom } : {}),
    };
    return this.#prepared(plan, video.key, video.dispose);
  }

  #prepared(plan: VideoPlan, key: string, dispose: () => Promise<void>): PreparedVideo {
    return {
      preparedVideo: true,
      label: plan.label,
      plan,
      tokens: this.tokenizer.encode(videoPromptString(plan.prompt, this.#imageBlock)).length,
      frameKeys: plan.frames.map((f) => `${key}:${f.index}`),
      key,
      dispose,
    };
  }
}

function samplingOverrides(options: VideoOptions): Partial<VideoSamplingOptions> {
  return { ...(options.fps !== undefined ? { fps: options.fps } : {}), ...(options.maxFrames !== undefined ? { maxFrames: options.maxFrames } : {}) };
}

/**
 * The steps a front end runs for one video, in order: plan (probe, sample, check the context: nothing
 * decoded yet), then stream the planned frames as vision-encoder input, one at a time.
 */
import { fitVideoToContext, type VideoBudget } from './budget.js';
import { decodeVideoFrames } from './decode.js';
import type { FfmpegBinary } from './ffmpeg.js';
import { preprocessVideoFrame, type VideoProcessorOptions } from './frames.js';
import { probeVideo, type VideoInfo } from './probe.js';
import type { VideoPromptInfo } from './prompt.js';
import { checkSamplingOptions, sampleFrames, type SampledFrame, type VideoSamplingOptions } from './sampling.js';

export interface PlanVideoOptions {
  /** The model's video settings (`videoProcessorOptionsFromConfig`). */
  processor: VideoProcessorOptions;
  /** Overrides of the model's sampling rate and frame cap (`--fps`, `--max-frames`). */
  sampling?: Partial<VideoSamplingOptions>;
  /** When given, the prompt is checked against the context before anything is decoded. */
  budget?: VideoBudget;
  /** Sample fewer frames instead of refusing a clip that does not fit (`--fit`). */
  fit?: boolean;
  binary?: FfmpegBinary;
  signal?: AbortSignal;
  /** Names the video in messages (default: the path). */
  label?: string;
}

export interface VideoPlan {
  info: VideoInfo;
  /** The sampling actually used (with `fit`, `maxFrames` may be lower than asked). */
  sampling: VideoSamplingOptions;
  frames: SampledFrame[];
  /** What the prompt says about the video (`expandVideoPlaceholders`). */
  prompt: VideoPromptInfo;
  /** Whole-prompt tokens, when a budget was given. */
  promptTokens?: number;
  /** Set when `fit` sampled fewer frames: how many the settings would have given. */
  reducedFrom?: number;
  label: string;
}

/** Probes and samples a video file and, with a budget, refuses (or fits) it before any frame is decoded. */
export async function planVideo(path: string, options: PlanVideoOptions): Promise<VideoPlan> {
  const label = options.label ?? path;
  const sampling: VideoSamplingOptions = { ...options.processor.sampling, ...options.sampling };
  checkSamplingOptions(sampling);
  const info = await probeVideo(path, {
    label,
    ...(options.binary ? { binary: options.binary } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let frames: SampledFrame[];
  let extra: Pick<VideoPlan, 'promptTokens' | 'reducedFrom'> = {};
  if (options.budget) {
    const fitted = fitVideoToContext(info, sampling, options.budget, { fit: options.fit ?? false, label });
    frames = fitted.frames;
    sampling.maxFrames = fitted.maxFrames;
    extra = { promptTokens: fitted.promptTokens, ...(fitted.reducedFrom !== undefined ? { reducedFrom: fitted.reducedFrom } : {}) };
  } else {
    frames = sampleFrames(info, sampling);
  }
  const prompt = { duration: info.duration, timestamps: frames.map((f) => f.timestamp) };
  return { info, sampling, frames, prompt, label, ...extra };
}

export interface PlannedFramePixels {
  frame: SampledFrame;
  /** 3 x M x M float32, the vision encoder's input for one global image. */
  pixels: Float32Array;
}

/** The plan's frames as vision-encoder input, in order, decoding each only when it is wanted. */
export async function* videoFramePixels(
  plan: VideoPlan,
  processor: VideoProcessorOptions,
  options: { binary?: FfmpegBinary; signal?: AbortSignal } = {},
): AsyncGenerator<PlannedFramePixels> {
  const byIndex = new Map(plan.frames.map((f) => [f.index, f]));
  const decoded = decodeVideoFrames(
    plan.info,
    plan.frames.map((f) => f.index),
    { label: plan.label, ...options },
  );
  for await (const { index, image } of decoded) {
    yield { frame: byIndex.get(index)!, pixels: preprocessVideoFrame(image, processor) };
  }
}

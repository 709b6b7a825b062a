/**
 * Refuse or fit: a clip whose expanded prompt would not fit the model's context is refused before any
 * frame is decoded or encoded, with the numbers; with `fit`, it is sampled down instead (the same rule
 * with a lower maximum frame count, as `--max-frames` would do) and the result says so.
 */
import { SmolVLMError } from '../errors.js';
import { sampleFrames, type SampledFrame, type VideoSamplingOptions, type VideoTiming } from './sampling.js';

export interface VideoBudget {
  /** The model's context size in tokens. */
  contextSize: number;
  /** Tokens the rest of the request needs: the prompt without the video's expansion, plus the tokens to generate. */
  otherTokens: number;
  /** Exact token count of the text the video expands to for these frames (intro, stamps, image blocks, outro). */
  countVideoTokens: (frames: readonly SampledFrame[]) => number;
}

export interface VideoFitResult {
  frames: SampledFrame[];
  /** Tokens the video's expansion takes. */
  videoTokens: number;
  /** The `maxFrames` the frames were sampled with (lower than asked when fitting reduced it). */
  maxFrames: number;
  /** Set when `fit` had to sample fewer frames: how many the options would have given. */
  reducedFrom?: number;
}

function overflow(label: string, frames: number, videoTokens: number, budget: VideoBudget, fits: number): SmolVLMError {
  const available = budget.contextSize - budget.otherTokens;
  const perFrame = Math.round(videoTokens / frames);
  const hint = fits > 0 ? `; at most ${fits} frame${fits === 1 ? '' : 's'} would fit (sample fewer frames or let it fit)` : '; not even one frame fits';
  return new SmolVLMError(
    'CONTEXT_OVERFLOW',
    `video ${label}: ${frames} frames take ${videoTokens} tokens (about ${perFrame} per frame) but only ${Math.max(0, available)} of the ${budget.contextSize}-token context are left after ${budget.otherTokens} for the rest of the prompt and the answer${hint}`,
  );
}

/**
 * The largest `maxFrames` below `known` (a maximum whose frames do not fit) whose frames fit, or 0.
 * Binary search: a lower maximum never gives more frames, and each frame costs far more tokens than
 * the intro's number words and the stamps' digits can vary by.
 */
function largestFitting(timing: VideoTiming, sampling: VideoSamplingOptions, known: number, available: number, budget: VideoBudget): number {
  let lo = 0; // fits (0 = nothing)
  let hi = known; // does not fit
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const frames = sampleFrames(timing, { ...sampling, maxFrames: mid });
    if (budget.countVideoTokens(frames) <= available) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Samples the clip and checks its cost against the context. Without `fit` an overflow throws
 * CONTEXT_OVERFLOW naming frames, tokens, what is left and how many frames would fit; with `fit` the
 * frames are resampled with the largest maximum that fits (still CONTEXT_OVERFLOW if not one frame does).
 */
export function fitVideoToContext(
  timing: VideoTiming,
  sampling: VideoSamplingOptions,
  budget: VideoBudget,
  options: { fit?: boolean; label?: string } = {},
): VideoFitResult {
  const label = options.label ? JSON.stringify(options.label) : 'clip';
  const frames = sampleFrames(timing, sampling);
  const videoTokens = budget.countVideoTokens(frames);
  const available = budget.contextSize - budget.otherTokens;
  if (videoTokens <= available) return { frames, videoTokens, maxFrames: sampling.maxFrames };

  // Only as many frames as were sampled matter; a maximum of that many may differ in which ones (skip rule), so it is tried too.
  const known = frames.length < sampling.maxFrames ? frames.length + 1 : sampling.maxFrames;
  const fits = available > 0 ? largestFitting(timing, sampling, known, available, budget) : 0;
  if (!options.fit || fits === 0) throw overflow(label, frames.length, videoTokens, budget, fits);
  const fitted = sampleFrames(timing, { ...sampling, maxFrames: fits });
  return { frames: fitted, videoTokens: budget.countVideoTokens(fitted), maxFrames: fits, reducedFrom: frames.length };
}

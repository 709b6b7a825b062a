/**
 * Refuse or fit: a clip whose prompt would not fit the model's context is refused before any frame is
 * decoded or encoded, with the numbers; with `fit`, it is sampled down instead (the same rule with a
 * lower maximum frame count, as a lower max-frames setting would do) and the result says so.
 */
import { SmolVLMError } from '../errors.js';
import { sampleFrames, type SampledFrame, type VideoSamplingOptions, type VideoTiming } from './sampling.js';

export interface VideoBudget {
  /** The model's context size in tokens. */
  contextSize: number;
  /** Tokens kept free for the answer (the generation's max new tokens). */
  reservedTokens: number;
  /** Exact token count of the whole prompt when the video is these frames (expanded and tokenized). */
  countPromptTokens: (frames: readonly SampledFrame[]) => number;
}

export interface VideoFitResult {
  frames: SampledFrame[];
  /** Tokens of the whole prompt with these frames. */
  promptTokens: number;
  /** The `maxFrames` the frames were sampled with (lower than asked when fitting reduced it). */
  maxFrames: number;
  /** Set when `fit` had to sample fewer frames: how many the options would have given. */
  reducedFrom?: number;
}

function fits(tokens: number, budget: VideoBudget): boolean {
  return tokens + budget.reservedTokens <= budget.contextSize;
}

function overflow(label: string, frames: readonly SampledFrame[], tokens: number, budget: VideoBudget, fitting: number): SmolVLMError {
  const perFrame = frames.length > 1 ? Math.round((tokens - budget.countPromptTokens(frames.slice(0, 1))) / (frames.length - 1)) : undefined;
  const cost = perFrame !== undefined ? ` (about ${perFrame} per frame)` : '';
  const hint = fitting > 0 ? `; at most ${fitting} frame${fitting === 1 ? '' : 's'} would fit` : '; not even one frame fits';
  return new SmolVLMError(
    'CONTEXT_OVERFLOW',
    `video ${label}: with ${frames.length} frames${cost} the prompt takes ${tokens} tokens, and with ${budget.reservedTokens} kept for the answer that exceeds the ${budget.contextSize}-token context${hint}`,
  );
}

/**
 * The largest `maxFrames` below `known` (a maximum whose frames do not fit) whose frames fit, or 0.
 * Binary search: a lower maximum never gives more frames, and a frame costs far more tokens than the
 * intro's number words and the stamps' digits can vary by.
 */
function largestFitting(timing: VideoTiming, sampling: VideoSamplingOptions, known: number, budget: VideoBudget): number {
  let lo = 0; // fits (0 = nothing)
  let hi = known; // does not fit
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(budget.countPromptTokens(sampleFrames(timing, { ...sampling, maxFrames: mid })), budget)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Samples the clip and checks the prompt against the context. Without `fit` an overflow throws
 * CONTEXT_OVERFLOW naming frames, tokens, the context and how many frames would fit; with `fit` the
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
  const promptTokens = budget.countPromptTokens(frames);
  if (fits(promptTokens, budget)) return { frames, promptTokens, maxFrames: sampling.maxFrames };

  // Only as many frames as were sampled matter; a maximum of exactly that many may pick other frames (the end-skip rule), so it is tried too.
  const known = frames.length < sampling.maxFrames ? frames.length + 1 : sampling.maxFrames;
  const fitting = largestFitting(timing, sampling, known, budget);
  if (!options.fit || fitting === 0) throw overflow(label, frames, promptTokens, budget, fitting);
  const fitted = sampleFrames(timing, { ...sampling, maxFrames: fitting });
  return { frames: fitted, promptTokens: budget.countPromptTokens(fitted), maxFrames: fitting, reducedFrom: frames.length };
}

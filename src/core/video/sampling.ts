/**
 * Which frames of a clip the model sees, by the rule of transformers' SmolVLM video processor
 * (`SmolVLMVideoProcessor.sample_frames`) and the timestamps its processor writes into the prompt.
 * Python's number semantics are reproduced where they differ from JavaScript's: `round` rounds half to
 * even, `np.linspace(..., dtype=int)` floors a float ramp whose last value is exactly the end, and
 * `float // 60`, `float % 60` follow CPython's floor division.
 */
import { SmolVLMError } from '../errors.js';

/** What the sampling rule needs to know about a clip (transformers' `VideoMetadata`). */
export interface VideoTiming {
  /** Frames in the video stream. */
  frameCount: number;
  /** Average frame rate (frames per second). */
  fps: number;
  /** Seconds; `frameCount / fps` for a constant-rate clip. */
  duration: number;
}

export interface VideoSamplingOptions {
  /** Frames to sample per second of video (`video_sampling.fps`, 1 in the official models). */
  fps: number;
  /** At most this many frames (`video_sampling.max_frames`, 64 in the official models). */
  maxFrames: number;
  /** Seconds skipped at each end of a long clip (the processor's `skip_secs`, 1). */
  skipSeconds?: number;
}

/** One sampled frame: its index in the stream and its time in seconds (`index / fps`). */
export interface SampledFrame {
  index: number;
  time: number;
  /** The prompt's `MM:SS` for this frame (minutes may exceed 59, as in the reference). */
  timestamp: string;
}

/** Python's `round(x)` for floats: ties go to the even integer. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** `np.unique(np.linspace(start, end, count, dtype=int))`: sorted distinct indices. */
export function linspaceUniqueInts(start: number, end: number, count: number): number[] {
  const values: number[] = [];
  if (count === 1) {
    values.push(Math.floor(start));
  } else if (count > 1) {
    // numpy: step = (end - start) / (count - 1); y = arange(count) * step + start; y[-1] = end; floor.
    const step = (end - start) / (count - 1);
    for (let i = 0; i < count - 1; i++) values.push(Math.floor(i * step + start));
    values.push(Math.floor(end));
  }
  return [...new Set(values)].sort((a, b) => a - b);
}

/** CPython's `a // b` and `a % b` for floats (b > 0): the remainder is C's fmod, the quotient corrected. */
function pyFloorDivMod(a: number, b: number): [number, number] {
  let mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0 && mod < 0 !== b < 0) {
    mod += b;
    div -= 1;
  }
  let floorDiv = Math.floor(div);
  if (div - floorDiv > 0.5) floorDiv += 1;
  return [floorDiv, mod];
}

/** `f"{int(s // 60):02d}:{int(s % 60):02d}"` of a frame time in seconds. */
export function formatFrameTimestamp(seconds: number): string {
  const [minutes, rest] = pyFloorDivMod(seconds, 60);
  const pad = (n: number) => String(Math.trunc(n)).padStart(2, '0');
  return `${pad(minutes)}:${pad(rest)}`;
}

function checkTiming(timing: VideoTiming): void {
  const { frameCount, fps, duration } = timing;
  if (!Number.isInteger(frameCount) || frameCount < 1 || !(fps > 0) || !Number.isFinite(fps) || !(duration >= 0) || !Number.isFinite(duration)) {
    throw new SmolVLMError('VIDEO_INVALID', `the video has no usable frame count, frame rate or duration (${frameCount} frames, ${fps} fps, ${duration} s)`);
  }
}

/** Throws USAGE unless the sampling options are positive numbers (max frames an integer). */
export function checkSamplingOptions(options: VideoSamplingOptions): void {
  if (!(options.fps > 0) || !Number.isFinite(options.fps)) {
    throw new SmolVLMError('USAGE', `the sampling rate must be a positive number of frames per second, got ${options.fps}`);
  }
  if (!Number.isInteger(options.maxFrames) || options.maxFrames < 1) {
    throw new SmolVLMError('USAGE', `the maximum number of frames must be a positive integer, got ${options.maxFrames}`);
  }
}

/**
 * The frame indices the reference samples: `desired = max(1, min(round(fps * duration), maxFrames))`;
 * when `duration - 2 * skip > maxFrames * fps`, the first and last `skip` seconds are left out;
 * then `desired` evenly spaced indices from start to end, floored and de-duplicated.
 */
export function sampleFrameIndices(timing: VideoTiming, options: VideoSamplingOptions): number[] {
  checkTiming(timing);
  checkSamplingOptions(options);
  const skip = options.skipSeconds ?? 1;
  const desired = Math.max(1, Math.min(roundHalfEven(options.fps * timing.duration), options.maxFrames));
  const last = timing.frameCount - 1;
  let start = 0;
  let end = last;
  if (skip > 0 && timing.duration - 2 * skip > options.maxFrames * options.fps) {
    start = Math.trunc(skip * timing.fps);
    end = Math.trunc(timing.frameCount - skip * timing.fps);
  }
  start = Math.max(0, start);
  end = Math.min(end, last);
  if (start >= end) {
    start = 0;
    end = last;
  }
  return linspaceUniqueInts(start, end, desired);
}

/** Indices with their times and prompt timestamps (`index / fps`, as `VideoMetadata.timestamps`). */
export function sampleFrames(timing: VideoTiming, options: VideoSamplingOptions): SampledFrame[] {
  return sampleFrameIndices(timing, options).map((index) => {
    const time = index / timing.fps;
    return { index, time, timestamp: formatFrameTimestamp(time) };
  });
}

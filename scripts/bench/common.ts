/** Shared types and helpers of the benchmark parent and its child processes. */
import { readFileSync } from 'node:fs';

export type Engine = 'ours' | 'theirs' | 'floor';
export const ENGINES: readonly Engine[] = ['ours', 'theirs', 'floor'];
export const ENGINE_LABEL: Record<Engine, string> = { ours: 'ours', theirs: 'transformers.js', floor: 'bare onnxruntime' };

export type ScenarioName = 'text' | 'single' | 'photo' | 'square';
export const SCENARIOS: readonly ScenarioName[] = ['text', 'single', 'photo', 'square'];

export interface Scenario {
  name: ScenarioName;
  title: string;
  /** Absolute image path, or none for text-only. */
  image?: string;
  doImageSplitting: boolean;
  question: string;
  /** A second user turn about the same image, asked after the first answer. */
  followUp?: string;
}

/** What a child process is asked to do. */
export interface ChildTask {
  engine: Engine;
  /** Column name: the engine, `base` for our engine at another revision, or `ours+<variant>`. */
  label: string;
  /** Our engine's `src` folder (default: this checkout's). */
  srcRoot?: string;
  modelDir: string;
  dtype: string;
  scenario: Scenario;
  newTokens: number;
  /** Where the child writes its ChildResult as JSON. */
  resultFile: string;
  /** Options passed to SmolVLM.load (ours only). */
  loadOptions?: Record<string, unknown>;
}

/** One turn of a conversation as measured in a child; times in ms. */
export interface TurnResult {
  promptTokens: number;
  /** Prompt tokens actually prefilled (less than promptTokens when a cache was reused). */
  prefillTokens: number;
  completionTokens: number;
  /** Reading, decoding, resizing and tiling the image(s) (and tokenizing, for transformers.js). */
  preprocessMs: number;
  visionMs: number;
  /** The first decoder call over the prompt. */
  prefillMs: number;
  /** From the request (before image preprocessing) to the first generated token. */
  firstTokenMs: number;
  /** Generated tokens after the first, per second of wall time from the first token to the last. */
  decodeTokensPerSecond: number;
  /** Peak resident memory of the process so far (VmHWM), MB. */
  peakRssMB: number;
  tiles: number;
  /** The first generated ids (to compare engines). */
  headIds: number[];
  /** performance.now() of the child at the first and the last generated token (the one-shot benchmark's clock). */
  firstTokenAt?: number;
  lastTokenAt?: number;
}

export interface ChildResult {
  engine: Engine;
  label: string;
  dtype: string;
  scenario: ScenarioName;
  loadMs: number;
  rssAfterLoadMB: number;
  turns: TurnResult[];
  error?: string;
}

/** Peak resident set size of this process so far, in MB (VmHWM; maxRSS where /proc is missing). */
export function peakRssMB(): number {
  try {
    const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

export function currentRssMB(): number {
  return process.memoryUsage.rss() / 1024 / 1024;
}

export function argmax(values: ArrayLike<number>, offset = 0, length = values.length - offset): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = values[offset + i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** Wraps `session.run` to add up the time spent in it, per call. */
export function timeRuns(session: { run: (...args: any[]) => Promise<any> }): number[] {
  const times: number[] = [];
  const run = session.run.bind(session);
  session.run = async (...args: any[]) => {
    const started = performance.now();
    try {
      return await run(...args);
    } finally {
      times.push(performance.now() - started);
    }
  };
  return times;
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

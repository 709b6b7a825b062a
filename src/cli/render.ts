/**
 * Terminal versus pipe: the answer streams to stdout and nothing else goes there; the spinner,
 * headers, warnings, stats and errors go to stderr. Spinner and colours only when stderr is a TTY
 * and neither NO_COLOR nor --no-color is set.
 */
import { Chalk, chalkStderr, type ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import type { GenerationResult, SessionDtypes } from '../index.js';
import { reportError } from './errors.js';
import { structuredJson } from './structured.js';

export interface RenderOptions {
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  /** false with --no-color. */
  color?: boolean;
}

export interface RenderStreams {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

/** NO_COLOR (any non-empty value) disables colour, as https://no-color.org asks. */
export function colorAllowed(options: RenderOptions, env: NodeJS.ProcessEnv = process.env): boolean {
  return options.color !== false && !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}

type ColorLevel = 0 | 1 | 2 | 3;

/** FORCE_COLOR as Node and chalk read it: 0/false off, 1/true/empty basic, 2 = 256 colours, 3 = truecolor; undefined when unset. */
export function forcedColorLevel(env: NodeJS.ProcessEnv): ColorLevel | undefined {
  const value = env.FORCE_COLOR;
  if (value === undefined) return undefined;
  if (value === '' || value === 'true') return 1;
  if (value === 'false') return 0;
  const level = Number(value);
  return Number.isInteger(level) && level >= 0 ? (Math.min(level, 3) as ColorLevel) : 1;
}

/**
 * The colour level for one stream: none with --no-color; FORCE_COLOR when set (it wins over NO_COLOR
 * and over a pipe, as in Node itself); none with NO_COLOR or when the stream is not a terminal; else
 * what the terminal supports (at least basic colours).
 */
export function colorLevel(options: RenderOptions, stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): ColorLevel {
  if (options.color === false) return 0;
  const forced = forcedColorLevel(env);
  if (forced !== undefined) return forced;
  if (!colorAllowed(options, env) || stream.isTTY !== true) return 0;
  return Math.max(1, chalkStderr.level) as ColorLevel;
}

export class Renderer {
  readonly json: boolean;
  /** Stats after each answer and stack traces on errors; chat's `/set verbose|quiet` switches it. */
  verbose: boolean;
  readonly quiet: boolean;
  /** Colours for stderr. */
  readonly err: ChalkInstance;
  /** Colours for stdout (headers only; the answer is never coloured). */
  readonly out: ChalkInstance;
  readonly stderrIsTTY: boolean;
  readonly stdoutIsTTY: boolean;
  readonly #streams: RenderStreams;
  #spinner: Ora | undefined;
  /** Last character written to stdout by the current answer ('' = nothing yet). */
  #lastChar = '';
  #answerOpen = false;

  constructor(options: RenderOptions, streams: RenderStreams = { stdout: process.stdout, stderr: process.stderr, env: process.env }) {
    this.#streams = streams;
    this.json = options.json === true;
    this.verbose = options.verbose === true;
    this.quiet = options.quiet === true;
    this.stderrIsTTY = streams.stderr.isTTY === true;
    this.stdoutIsTTY = streams.stdout.isTTY === true;
    this.err = new Chalk({ level: colorLevel(options, streams.stderr, streams.env) });
    this.out = new Chalk({ level: colorLevel(options, streams.stdout, streams.env) });
  }

  /** ora, imported only by commands that may show a spinner (startup of --help and the like stays light). */
  #ora: typeof import('ora').default | undefined;

  /** Loads the spinner module when a spinner may be shown; spin() does nothing before this. */
  async prepareSpinner(): Promise<void> {
    if (this.interactive) this.#ora ??= (await import('ora')).default;
  }

  /** Whether a spinner may be shown: stderr is a terminal (with a known width) and not --quiet. */
  get interactive(): boolean {
    // ora divides by the width: a terminal that reports 0 columns would make it clear lines forever.
    return this.stderrIsTTY && !this.quiet && (this.#streams.stderr.columns ?? 0) > 0;
  }

  spin(text: string): void {
    if (!this.interactive || this.#ora === undefined) return;
    if (this.#spinner) {
      this.#spinner.text = text;
      return;
    }
    this.#spinner = this.#ora({
      text,
      stream: this.#streams.stderr,
      isEnabled: true,
      discardStdin: false,
      color: this.err.level > 0 ? 'cyan' : false,
    }).start();
  }

  stopSpinner(): void {
    this.#spinner?.stop();
    this.#spinner = undefined;
  }

  /** A line on stderr for the user (suppressed by --quiet). */
  note(text: string): void {
    if (this.quiet) return;
    this.stopSpinner();
    this.#streams.stderr.write(`${text}\n`);
  }

  warn(text: string): void {
    if (this.quiet) return;
    this.stopSpinner();
    this.#streams.stderr.write(`${this.err.yellow('warning:')} ${text}\n`);
  }

  /**
   * Names the image an answer belongs to when there are several. On a terminal it sits above the
   * answer on stdout; in a pipe it goes to stderr so that stdout keeps the answers only.
   */
  header(label: string): void {
    if (this.json) return;
    this.stopSpinner();
    if (this.stdoutIsTTY) this.#streams.stdout.write(`${this.out.bold.cyan(`==> ${label} <==`)}\n`);
    else if (!this.quiet) this.#streams.stderr.write(`${this.err.bold(`==> ${label} <==`)}\n`);
  }

  /** Starts an answer (stdout is written only through write/endAnswer). */
  beginAnswer(): void {
    this.#lastChar = '';
    this.#answerOpen = true;
  }

  /** A piece of the streamed answer (nothing in --json mode, where the object carries the text). */
  write(piece: string): void {
    if (this.json || piece === '') return;
    this.stopSpinner();
    this.#streams.stdout.write(piece);
    this.#lastChar = piece[piece.length - 1]!;
  }

  /**
   * Ends the answer with a newline: a finished answer always (even an empty or interrupted one), one
   * cut short by an error only when part of it was printed.
   */
  endAnswer(finished = true): void {
    if (!this.#answerOpen) return;
    this.#answerOpen = false;
    this.stopSpinner();
    if (!finished && this.#lastChar === '') return;
    if (!this.json && this.#lastChar !== '\n') this.#streams.stdout.write('\n');
  }

  /** One JSON object on one line of stdout. */
  writeJson(value: unknown): void {
    this.stopSpinner();
    this.#streams.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** The --verbose stats line. */
  stats(result: GenerationResult): void {
    if (!this.verbose) return;
    this.stopSpinner();
    this.#streams.stderr.write(`${this.err.dim(formatStats(result))}\n`);
  }

  /** Reports an error on stderr and returns its exit code. */
  error(error: unknown, extra?: Record<string, unknown>): number {
    this.stopSpinner();
    return reportError(error, {
      json: this.json,
      verbose: this.verbose,
      paint: (text) => this.err.red.bold(text),
      extra,
      write: (text) => this.#streams.stderr.write(text),
    });
  }
}

const ms = (value: number) => `${Math.round(value)} ms`;
const rate = (value: number) => `${value >= 100 ? Math.round(value) : value.toFixed(1)} tok/s`;

export function formatStats(result: GenerationResult): string {
  const { usage, timings } = result;
  const parts = [`load ${ms(timings.loadMs)}`];
  if (usage.images.length > 0) {
    const tiles = usage.images.reduce((n, i) => n + i.tiles, 0);
    parts.push(`${usage.images.length} image${usage.images.length === 1 ? '' : 's'}: ${tiles} tile${tiles === 1 ? '' : 's'}, ${usage.imageTokens} tokens`);
    parts.push(`image ${ms(timings.imageMs)}`);
    parts.push(`encode ${ms(timings.encodeMs)}`);
  }
  for (const video of usage.videos) {
    const fitted = video.reducedFrom !== undefined ? ` (of ${video.reducedFrom}, --fit)` : '';
    parts.push(`video ${video.label}: ${video.frames} frames${fitted} at ${video.timestamps.join(' ')}, ${video.tokens} tokens, encode ${ms(video.encodeMs)}`);
  }
  const prefilled = usage.promptTokens - usage.cachedTokens;
  parts.push(`prefill ${prefilled} tokens at ${rate(timings.prefillTokensPerSecond)}`);
  parts.push(`first token ${ms(timings.firstTokenMs)}`);
  parts.push(`decode ${usage.completionTokens} tokens at ${rate(timings.decodeTokensPerSecond)}`);
  parts.push(`finish ${result.finishReason}`);
  return parts.join(' · ');
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

export interface AnswerContext {
  /** The model reference as the user gave it (or the default). */
  model: string;
  dtype: SessionDtypes;
  /** The user text of the prompt. */
  prompt: string;
}

/** The --json object of one answer. */
export function answerJson(context: AnswerContext, result: GenerationResult): Record<string, unknown> {
  const { usage, timings } = result;
  return {
    model: context.model,
    dtype: context.dtype,
    images: usage.images.map((i) => ({ label: i.label, tiles: i.tiles, rows: i.rows, cols: i.cols, tokens: i.tokens })),
    videos: usage.videos.map((v) => ({
      label: v.label,
      frames: v.frames,
      timestamps: v.timestamps,
      duration: round(v.duration, 3),
      tokens: v.tokens,
      encode_ms: round(v.encodeMs),
      ...(v.reducedFrom !== undefined ? { reduced_from: v.reducedFrom } : {}),
    })),
    prompt: context.prompt,
    text: result.text,
    ...structuredJson(result),
    finish_reason: result.finishReason,
    usage: {
      prompt_tokens: usage.promptTokens,
      image_tokens: usage.imageTokens,
      video_tokens: usage.videos.reduce((n, v) => n + v.tokens, 0),
      tiles: usage.images.map((i) => i.tiles),
      completion_tokens: usage.completionTokens,
    },
    timings: {
      load_ms: round(timings.loadMs),
      image_ms: round(timings.imageMs),
      encode_ms: round(timings.encodeMs),
      prefill_ms: round(timings.prefillMs),
      prefill_tokens_per_second: round(timings.prefillTokensPerSecond),
      first_token_ms: round(timings.firstTokenMs),
      decode_ms: round(timings.decodeMs),
      decode_tokens_per_second: round(timings.decodeTokensPerSecond),
      total_ms: round(timings.totalMs),
    },
  };
}

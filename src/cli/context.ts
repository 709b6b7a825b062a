/**
 * The run wrapper every command goes through, and what one invocation shares: the renderer, Ctrl+C
 * and SIGTERM, loading the model once, and streaming an answer. Command handlers stay thin on top of
 * it (commands/describe.ts is the model).
 */
import { type ChatMessage, type GenerateRequest, type GenerationResult, type ImageSourceOptions, type OutputFormat, type SmolVLM, type VideoProgress } from '../index.js';
import { reportEnvironment } from './commands/version.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED } from './errors.js';
import type { ResolvedModel } from './model-ref.js';
import { loadOptions, requestOptions, type GenerationOptions, type ImageOptions, type ModelOptions, type OutputOptions, type VideoOptions } from './options.js';
import { DownloadProgressView } from './progress.js';
import { answerJson, Renderer } from './render.js';

export interface CliIO {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIO(): CliIO {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

export interface LoadedModel {
  model: SmolVLM;
  /** The reference as given (shown in --json). */
  name: string;
}

/** The signals that stop a command, with the exit code each gives (128 + its number, as shells report). */
const STOP_SIGNALS = { SIGINT: EXIT_INTERRUPTED, SIGTERM: EXIT_TERMINATED } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/**
 * Answers Ctrl+C or SIGTERM while something can be stopped: true when it stopped it (the command
 * then ends by itself, or goes on as chat's terminal does after Ctrl+C), false to exit at once.
 */
export type StopHandler = (signal: StopSignal) => boolean;

/** One answer of a one-shot command. */
export interface AnswerRequest {
  messages: ChatMessage[];
  /** The user text of the prompt, as --json shows it. */
  prompt: string;
  settings: GenerationOptions & ImageOptions & VideoOptions;
  /** The command's own defaults (story turns tiling off for several images). */
  defaults?: { split?: boolean };
  /** --format / --schema, read before the model loaded (readOutputFormat). */
  format?: OutputFormat | undefined;
}

/** What loading a model reads of the options: the model group, and how video frames are resized. */
export type LoadModelOptions = ModelOptions & Pick<VideoOptions, 'frameResize'>;

export class CliContext {
  readonly renderer: Renderer;
  /** Aborts loading and generation when the command is stopped. */
  readonly controller = new AbortController();
  #stoppedBy: StopSignal | undefined;
  #onStop: StopHandler | undefined;
  #failed = false;
  #removeSignalHandlers: (() => void) | undefined;

  constructor(
    options: OutputOptions,
    readonly io: CliIO = processIO(),
  ) {
    this.renderer = new Renderer(
      { json: options.json, verbose: options.verbose, quiet: options.quiet, color: options.color },
      { stdout: io.stdout, stderr: io.stderr, env: io.env },
    );
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once a signal is ending the command. */
  get interrupted(): boolean {
    return this.#stoppedBy !== undefined;
  }

  /** Records that `signal` is ending the command: its exit code becomes the signal's. */
  endBecauseOf(signal: StopSignal): void {
    this.#stoppedBy ??= signal;
  }

  /**
   * Ctrl+C and SIGTERM go to the current StopHandler (see stoppable()); with none, or when it
   * declines, the process exits at once with the signal's code (130, 143), a partial answer ending
   * with its newline.
   */
  installSignalHandlers(): void {
    const handlers = (Object.keys(STOP_SIGNALS) as StopSignal[]).map((signal) => {
      const handler = () => {
        if (this.#onStop?.(signal)) return;
        this.exitNow(STOP_SIGNALS[this.#stoppedBy ?? signal]);
      };
      process.on(signal, handler);
      return () => process.off(signal, handler);
    });
    this.#removeSignalHandlers = () => handlers.forEach((remove) => remove());
  }

  /** Runs `body` with `handler` answering Ctrl+C and SIGTERM. */
  async stoppable<T>(handler: StopHandler, body: () => Promise<T>): Promise<T> {
    const previous = this.#onStop;
    this.#onStop = handler;
    try {
      return await body();
    } finally {
      this.#onStop = previous;
    }
  }

  /** Exits now, ending a partial answer with its newline. */
  exitNow(code: number): never {
    this.renderer.endAnswer(false);
    this.renderer.stopSpinner();
    process.exit(code);
  }

  dispose(): void {
    this.#removeSignalHandlers?.();
    this.#removeSignalHandlers = undefined;
    this.renderer.stopSpinner();
  }

  /** Records a failure that does not stop the command (one image of several); the exit code becomes 1. */
  fail(error: unknown, extra?: Record<string, unknown>): void {
    this.#failed = true;
    // Already now, for an exit on a closed stdout (see program.ts).
    process.exitCode = EXIT_FAILURE;
    this.renderer.error(error, extra);
  }

  /** The exit code once the command has finished. */
  get exitCode(): number {
    if (this.#stoppedBy !== undefined) return STOP_SIGNALS[this.#stoppedBy];
    return this.#failed ? EXIT_FAILURE : EXIT_OK;
  }

  imageSource(): ImageSourceOptions {
    return { stdin: this.io.stdin, cwd: this.io.cwd };
  }

  /** The download progress shown on stderr by every command (bar on a terminal, a line per file in a pipe). */
  downloadProgress(): DownloadProgressView {
    return new DownloadProgressView(this.renderer, { columns: () => this.io.stderr.columns });
  }

  /** Resolves and loads --model; `warmUp` runs the decoder once at load (LoadOptions.warmUp: chat and serve; not the one-shot commands). */
  async loadModel(options: LoadModelOptions, extra: { warmUp?: boolean } = {}): Promise<LoadedModel> {
    return this.loadResolved(await this.resolveModel(options), options, extra);
  }

  /** The model directory and name --model refers to, downloading what is missing (with progress). */
  async resolveModel(options: ModelOptions): Promise<ResolvedModel> {
    this.renderer.spin(`Loading ${options.model}`);
    const { resolveModel } = await import('./actions.js');
    return resolveModel(options.model, {
      ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
      cwd: this.io.cwd,
      env: this.io.env,
      signal: this.signal,
      ...(options.offline ? { offline: true } : {}),
      onProgress: this.downloadProgress().onProgress,
    });
  }

  /** Loads a resolved model (a spinner meanwhile; warnings on stderr). */
  async loadResolved(resolved: ResolvedModel, options: LoadModelOptions, extra: { warmUp?: boolean } = {}): Promise<LoadedModel> {
    const { renderer } = this;
    renderer.spin(`Loading ${resolved.name}`);
    const { SmolVLM } = await import('./actions.js');
    const model = await endedBySignalsWhile(() =>
      SmolVLM.load(resolved.dir, { ...loadOptions(options), warmUp: extra.warmUp ?? false, dtype: resolved.dtypes, onWarning: (message) => renderer.warn(message) }),
    );
    renderer.stopSpinner();
    return { model, name: resolved.name };
  }

  /**
   * A video's frames being encoded: the spinner counts them; a clip that --fit sampled down says so
   * (also with --json, whose object has `reduced_from`), unless --quiet.
   */
  videoProgress(progress: VideoProgress): void {
    const { renderer } = this;
    const { label, encoded, frames, reducedFrom } = progress;
    if (encoded === 0 && reducedFrom !== undefined) {
      renderer.note(`video ${label}: sampled ${frames} of ${reducedFrom} frames to fit the context (--fit)`);
    }
    renderer.spin(encoded < frames ? `Encoding ${label}: frame ${encoded + 1} of ${frames}` : 'Thinking');
  }

  /**
   * Generates one answer: streamed to stdout (or one JSON object with --json), a newline at the end,
   * the --verbose stats line on stderr. A structured answer cut short is kept and reported (exit 1). Ctrl+C or SIGTERM stops it; what was printed stays, and the
   * command ends with the signal's exit code (a second signal exits at once).
   */
  async answer(loaded: LoadedModel, answer: AnswerRequest): Promise<GenerationResult> {
    const { renderer } = this;
    const options = requestOptions(answer.settings, answer.defaults);
    const request: GenerateRequest = {
      ...options,
      video: { ...options.video, onProgress: (progress) => this.videoProgress(progress) },
      messages: answer.messages,
      imageSource: this.imageSource(),
      signal: this.signal,
      ...(answer.format !== undefined ? { format: answer.format } : {}),
    };
    const stop: StopHandler = (signal) => {
      if (this.interrupted) return false;
      this.endBecauseOf(signal);
      this.controller.abort(new Error('interrupted'));
      return true;
    };
    const { incompleteAnswer } = await import('./actions.js');
    renderer.spin('Thinking');
    renderer.beginAnswer();
    try {
      return await this.stoppable(stop, async () => {
        const stream = loaded.model.generate(request);
        for await (const piece of stream) renderer.write(piece);
        const result = await stream.result;
        renderer.endAnswer();
        if (renderer.json) renderer.writeJson(answerJson({ model: loaded.name, dtype: loaded.model.dtypes, prompt: answer.prompt }, result));
        renderer.stats(result);
        const incomplete = incompleteAnswer(result);
        if (incomplete) this.fail(incomplete);
        return result;
      });
    } finally {
      renderer.endAnswer(false);
    }
  }
}

/**
 * Runs `body` with Ctrl+C and SIGTERM left to the system's default action, which ends the process at
 * once (the shell reports 130 or 143). Loading a model is synchronous native work in onnxruntime
 * (several seconds per session for a large model) during which no JavaScript handler can run, and
 * there is no partial answer to keep, so the listeners step aside until it is done.
 */
async function endedBySignalsWhile<T>(body: () => Promise<T>): Promise<T> {
  const saved = (Object.keys(STOP_SIGNALS) as StopSignal[]).map((signal) => ({ signal, listeners: process.listeners(signal) }));
  for (const { signal } of saved) process.removeAllListeners(signal);
  try {
    return await body();
  } finally {
    for (const { signal, listeners } of saved) for (const listener of listeners) process.on(signal, listener);
  }
}

/**
 * Runs a command body with a fresh context: Ctrl+C and SIGTERM handling, errors reported on stderr,
 * and process.exitCode set (0, 1, 2, 130 or 143). The body may return its own exit code (chat does);
 * a stop signal's code wins over it.
 */
export async function runCommand(options: OutputOptions, body: (ctx: CliContext) => Promise<number | void>, io: CliIO = processIO()): Promise<void> {
  const ctx = new CliContext(options, io);
  ctx.installSignalHandlers();
  try {
    await ctx.renderer.prepareSpinner();
    const code = await body(ctx);
    process.exitCode = typeof code === 'number' && !ctx.interrupted ? code : ctx.exitCode;
  } catch (error) {
    ctx.renderer.endAnswer(false);
    process.exitCode = ctx.interrupted ? ctx.exitCode : ctx.renderer.error(error);
  } finally {
    // --verbose: a failed command ends with what a bug report needs.
    if (process.exitCode !== EXIT_OK && !ctx.interrupted && ctx.renderer.verbose && !ctx.renderer.json) await reportEnvironment(io.stderr);
    ctx.dispose();
  }
}

/**
 * runCommand for a command that answers and is done (describe, ask, story): once its output is
 * flushed, the process exits at once instead of letting Node tear the loaded model down (releasing
 * onnxruntime's sessions one by one: 20-30 ms at 256M, more for larger models), which nothing needs.
 * Only for the process's own streams: with other io (a test) it returns as runCommand does.
 */
export async function runOneShotCommand(options: OutputOptions, body: (ctx: CliContext) => Promise<number | void>, io: CliIO = processIO()): Promise<void> {
  await runCommand(options, body, io);
  if (io.stdout !== process.stdout || io.stderr !== process.stderr) return;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit();
}

/** Resolves when what was written to `stream` so far has been handed to the system. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write('', () => resolve());
  });
}

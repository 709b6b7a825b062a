/**
 * What one command invocation shares: the renderer, the abort signal tied to Ctrl+C, loading the
 * model once, and streaming an answer. Command handlers stay thin on top of it.
 */
import { SmolVLM, type ChatMessage, type GenerateRequest, type GenerationResult, type ImageSourceOptions } from '../index.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK } from './errors.js';
import { resolveModel } from './model-ref.js';
import { loadOptions, requestOptions, type CommonOptions } from './options.js';
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

export class CliContext {
  readonly renderer: Renderer;
  readonly controller = new AbortController();
  #interrupted = false;
  #generating = false;
  #failed = false;
  #removeSignalHandlers: (() => void) | undefined;

  constructor(
    readonly options: CommonOptions,
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

  get interrupted(): boolean {
    return this.#interrupted;
  }

  /**
   * Ctrl+C: while an answer is generated, stop it (the command prints what it has and exits 130);
   * at any other time, or on a second Ctrl+C, exit 130 at once.
   */
  installSignalHandlers(): void {
    const onSigint = () => {
      if (this.#interrupted || !this.#generating) {
        this.renderer.endAnswer(false);
        this.renderer.stopSpinner();
        process.exit(EXIT_INTERRUPTED);
      }
      this.#interrupted = true;
      this.controller.abort(new Error('interrupted'));
    };
    process.on('SIGINT', onSigint);
    // A reader that closed the pipe (`| head -1`) wants no more: stop quietly.
    const onStdoutError = (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') {
        this.controller.abort(error);
        process.exit(this.#failed ? EXIT_FAILURE : EXIT_OK);
      }
      throw error;
    };
    this.io.stdout.on('error', onStdoutError);
    this.#removeSignalHandlers = () => {
      process.off('SIGINT', onSigint);
      this.io.stdout.off('error', onStdoutError);
    };
  }

  dispose(): void {
    this.#removeSignalHandlers?.();
    this.#removeSignalHandlers = undefined;
    this.renderer.stopSpinner();
  }

  /** Records a failure that does not stop the command (one image of several); the exit code becomes 1. */
  fail(error: unknown, extra?: Record<string, unknown>): void {
    this.#failed = true;
    this.renderer.error(error, extra);
  }

  /** The exit code once the command has finished. */
  get exitCode(): number {
    return this.#interrupted ? EXIT_INTERRUPTED : this.#failed ? EXIT_FAILURE : EXIT_OK;
  }

  imageSource(): ImageSourceOptions {
    return { stdin: this.io.stdin, cwd: this.io.cwd };
  }

  /** The download progress shown on stderr by every command (bar on a terminal, a line per file in a pipe). */
  downloadProgress(): DownloadProgressView {
    return new DownloadProgressView(this.renderer, { columns: () => this.io.stderr.columns });
  }

  async loadModel(): Promise<LoadedModel> {
    const { renderer, options } = this;
    renderer.spin(`Loading ${options.model}`);
    const resolved = await resolveModel(options.model, {
      ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
      cwd: this.io.cwd,
      env: this.io.env,
      signal: this.signal,
      ...(options.offline ? { offline: true } : {}),
      onProgress: this.downloadProgress().onProgress,
    });
    renderer.spin(`Loading ${resolved.name}`);
    const model = await SmolVLM.load(resolved.dir, { ...loadOptions(options), dtype: resolved.dtypes });
    renderer.stopSpinner();
    return { model, name: resolved.name };
  }

  /**
   * Generates one answer: streamed to stdout (or one JSON object with --json), a newline at the end,
   * the --verbose stats line on stderr. An interrupted answer keeps what was printed.
   */
  async answer(loaded: LoadedModel, messages: ChatMessage[], prompt: string, defaults: { split?: boolean } = {}): Promise<GenerationResult> {
    const { renderer } = this;
    const request: GenerateRequest = {
      ...requestOptions(this.options, defaults),
      messages,
      imageSource: this.imageSource(),
      signal: this.signal,
    };
    renderer.spin('Thinking');
    renderer.beginAnswer();
    this.#generating = true;
    try {
      const stream = loaded.model.generate(request);
      for await (const piece of stream) renderer.write(piece);
      const result = await stream.result;
      renderer.endAnswer();
      if (renderer.json) renderer.writeJson(answerJson({ model: loaded.name, dtype: loaded.model.dtypes, prompt }, result));
      renderer.stats(result);
      return result;
    } finally {
      this.#generating = false;
      renderer.endAnswer(false);
    }
  }
}

/**
 * Runs a command body with a fresh context: Ctrl+C handling, errors reported on stderr, and
 * process.exitCode set (0, 1, 2 or 130).
 */
export async function runCommand(options: CommonOptions, body: (ctx: CliContext) => Promise<void>, io: CliIO = processIO()): Promise<void> {
  const ctx = new CliContext(options, io);
  ctx.installSignalHandlers();
  try {
    await body(ctx);
    process.exitCode = ctx.exitCode;
  } catch (error) {
    ctx.renderer.endAnswer(false);
    process.exitCode = ctx.interrupted ? EXIT_INTERRUPTED : ctx.renderer.error(error);
  } finally {
    ctx.dispose();
  }
}

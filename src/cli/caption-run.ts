/**
 * `smolvlm caption` behind its command definition (commands/caption.ts): the inputs resolved first
 * (a wrong path fails before any download), the captioner (a local model, loaded only once an image
 * needs it, or an OpenAI-compatible server), the run with its progress, failures reported as they
 * come, and one summary line. Ctrl+C stops the run at once and still prints the summary.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_CAPTION_BATCH,
  MODEL_ALIASES,
  SmolVLMError,
  captionImages,
  collectImages,
  createLocalCaptioner,
  createRemoteCaptioner,
  isSmolVLMError,
  type CaptionResult,
  type CaptionSummary,
  type Captioner,
  type ErrorCode,
} from '../index.js';
import { CaptionProgressView, displayPath, summaryJson, summaryLine } from './caption-progress.js';
import type { CliContext, StopHandler } from './context.js';
import { UsageError } from './errors.js';
import { generationSettings, type FormatOptions, type GenerationOptions, type ImageOptions, type ModelOptions, type OutputOptions } from './options.js';
import { readOutputFormat } from './structured.js';

/** caption's own options, as commander parses them. */
export type CaptionOptions = {
  output?: string;
  sidecar?: true | string;
  errors?: string;
  overwrite?: true;
  filesFrom?: string;
  null?: true;
  prompt: string;
  batch?: number;
  remote?: string;
  remoteModel?: string;
  apiKey?: string;
  concurrency?: number;
  timeout?: number;
};

export type CaptionCommandOptions = CaptionOptions & ModelOptions & GenerationOptions & ImageOptions & FormatOptions & OutputOptions;

type FlagOf<K extends keyof CaptionCommandOptions> = readonly [K, string];

/** Flags that only a local model uses, and flags that only --remote uses: refused in the other mode rather than ignored. */
const LOCAL_ONLY: readonly FlagOf<'batch' | 'dtype' | 'threads' | 'offline' | 'split' | 'imageSize' | 'format' | 'schema'>[] = [
  ['batch', '--batch'],
  ['dtype', '--dtype'],
  ['threads', '--threads'],
  ['offline', '--offline'],
  ['split', '--split/--no-split'],
  ['imageSize', '--image-size'],
  ['format', '--format'],
  ['schema', '--schema'],
];
const REMOTE_ONLY: readonly FlagOf<'remoteModel' | 'apiKey' | 'concurrency' | 'timeout'>[] = [
  ['remoteModel', '--remote-model'],
  ['apiKey', '--api-key'],
  ['concurrency', '--concurrency'],
  ['timeout', '--timeout'],
];

function checkModeOptions(options: CaptionCommandOptions): void {
  const given = (flags: readonly FlagOf<keyof CaptionCommandOptions>[]) => flags.filter(([key]) => options[key] !== undefined).map(([, flag]) => flag);
  const listed = (flags: string[]) => `${flags.join(', ')} ${flags.length === 1 ? 'applies' : 'apply'}`;
  if (options.remote !== undefined) {
    const wrong = given(LOCAL_ONLY);
    if (wrong.length > 0) throw new UsageError(`${listed(wrong)} to a local model, not with --remote (the server has its own settings)`);
  } else {
    const wrong = given(REMOTE_ONLY);
    if (wrong.length > 0) throw new UsageError(`${listed(wrong)} only with --remote URL (locally, --batch sets how many images are captioned together)`);
  }
  if (options.null && options.filesFrom === undefined) throw new UsageError('-0 says how the --files-from list is separated; give --files-from FILE or -');
}

/**
 * --sidecar's optional value: an extension (`.caption`, `caption`), or, when it names an existing file
 * or folder or looks like a path or pattern, the first input, which commander took for the value.
 */
export function sidecarValue(value: true | string | undefined, cwd: string): { sidecar?: true | string; input?: string } {
  if (value === undefined || value === true) return { sidecar: value };
  if (/^\.[^/\\]+$/.test(value)) return { sidecar: value };
  if (/^[A-Za-z0-9_-]{1,16}$/.test(value) && !existsSync(path.resolve(cwd, value))) return { sidecar: value };
  return { sidecar: true, input: value };
}

/** The server's name for --model when --remote-model is absent: an alias becomes its repo id (what `vllm serve` names). */
function remoteModelName(model: string): string {
  return MODEL_ALIASES.find((entry) => entry.alias === model.trim().toLowerCase())?.repo ?? model.trim();
}

function isBrokenPipe(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++, current = current.cause) {
    if ((current as NodeJS.ErrnoException).code === 'EPIPE') return true;
  }
  return false;
}

interface CaptionerHandle {
  captioner: Captioner;
  close(): Promise<void>;
}

function remoteCaptioner(ctx: CliContext, options: CaptionCommandOptions, url: string): CaptionerHandle {
  const cwd = ctx.io.cwd;
  const captioner = createRemoteCaptioner({
    url,
    model: options.remoteModel ?? remoteModelName(options.model),
    ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
    env: ctx.io.env,
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.timeout !== undefined ? { timeoutMs: options.timeout * 1000 } : {}),
    ...(options.system !== undefined ? { system: options.system } : {}),
    onRetry: (retry) =>
      ctx.renderer.warn(`${displayPath(retry.path, cwd)}: ${retry.reason}; retry ${retry.retry} in ${(retry.delayMs / 1000).toFixed(1)} s`),
  });
  return { captioner, close: async () => {} };
}

/** The local model, resolved (downloaded if need be) now for its name, loaded when the run first needs it. */
async function localCaptioner(ctx: CliContext, options: CaptionCommandOptions): Promise<CaptionerHandle> {
  const format = await readOutputFormat(options);
  const resolved = await ctx.resolveModel(options);
  ctx.renderer.stopSpinner();
  const captioner = createLocalCaptioner({
    model: async () => (await ctx.loadResolved(resolved, options)).model,
    name: resolved.name,
    batch: options.batch ?? DEFAULT_CAPTION_BATCH,
    ...(format !== undefined ? { format } : {}),
    ...(options.system !== undefined ? { system: options.system } : {}),
  });
  return { captioner, close: () => captioner.close() };
}

function reportFailure(ctx: CliContext, result: Extract<CaptionResult, { status: 'failed' }>): void {
  const { code, message } = result.error;
  const named = message.includes(result.path) || message.includes(result.fileName) ? message : `${result.fileName}: ${message}`;
  const error = code === 'INTERNAL' ? new Error(named) : new SmolVLMError(code as ErrorCode, named);
  ctx.fail(error, { image: result.fileName });
}

function printSummary(ctx: CliContext, summary: CaptionSummary): void {
  ctx.renderer.note(ctx.renderer.json ? JSON.stringify(summaryJson(summary)) : summaryLine(summary));
}

/** The command's body: see the file comment. Returns nothing; the context's exit code says how it went. */
export async function captionImagesCommand(ctx: CliContext, inputs: readonly string[], options: CaptionCommandOptions): Promise<void> {
  const cwd = ctx.io.cwd;
  checkModeOptions(options);
  const { sidecar, input } = sidecarValue(options.sidecar, cwd);
  const sources = input === undefined ? [...inputs] : [input, ...inputs];
  if (sources.length === 0 && options.filesFrom === undefined) {
    throw new UsageError('name the images: files, folders or quoted glob patterns, or --files-from FILE (- for stdin)');
  }
  const remote = options.remote === undefined ? undefined : remoteCaptioner(ctx, options, options.remote);
  const collected = await collectImages(sources, { filesFrom: options.filesFrom, nul: options.null === true, stdin: ctx.io.stdin, cwd });
  for (const ignored of collected.ignored) ctx.renderer.warn(`${displayPath(ignored.path, cwd)}: ${ignored.reason}, left out`);
  const { captioner, close } = remote ?? (await localCaptioner(ctx, options));
  const view = new CaptionProgressView(ctx.renderer, { cwd, columns: () => ctx.io.stderr.columns });
  const run = captionImages(collected.files, {
    captioner,
    prompt: options.prompt,
    settings: generationSettings(options),
    ...(options.output !== undefined ? { output: options.output } : {}),
    ...(sidecar !== undefined ? { sidecar } : {}),
    ...(options.errors !== undefined ? { errors: options.errors } : {}),
    overwrite: options.overwrite === true,
    stdout: ctx.io.stdout,
    cwd,
    signal: ctx.signal,
    onProgress: view.onProgress,
    onNotice: (message) => ctx.renderer.warn(message),
  });
  const stop: StopHandler = (signal) => {
    if (ctx.interrupted) return false;
    ctx.endBecauseOf(signal);
    ctx.controller.abort(new Error('interrupted'));
    return true;
  };
  try {
    await ctx.stoppable(stop, async () => {
      for await (const result of run) {
        if (result.status === 'failed') reportFailure(ctx, result);
      }
    });
  } catch (error) {
    view.stop();
    // A reader that closed the pipe (`| head`) wants no more: end quietly, as every command does.
    if (isBrokenPipe(error)) return;
    if (!(ctx.interrupted && isSmolVLMError(error) && error.code === 'ABORTED')) throw error;
  } finally {
    await close();
  }
  view.stop();
  printSummary(ctx, run.summary());
}

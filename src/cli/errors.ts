/**
 * Errors to one line on stderr (a JSON object with --json) and a documented exit code.
 */
import { CommanderError } from '@commander-js/extra-typings';
import { isSmolVLMError, type ErrorCode } from '../index.js';

export const EXIT_OK = 0;
/** Model, image, network and other runtime failures. */
export const EXIT_FAILURE = 1;
/** Bad flags or values, missing arguments, `-` given twice. */
export const EXIT_USAGE = 2;
/** Interrupted (Ctrl+C), as shells report SIGINT: 128 + 2. */
export const EXIT_INTERRUPTED = 130;
/** Stopped by SIGTERM (handled like Ctrl+C), as shells report it: 128 + 15. */
export const EXIT_TERMINATED = 143;

/** The exit-code table shown at the end of each command's --help. */
export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    runtime failure (model, image, video or network error; no ffmpeg)
  2    usage error (bad option value, missing argument, "-" given twice, a video for a model without video)
  130  interrupted (Ctrl+C); what was generated stays printed
  143  terminated (SIGTERM), handled like Ctrl+C`;

/** A usage error raised by the CLI itself (missing question and the like). */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A structured answer (--format, --schema) that stopped before its JSON document ended: exit 1, the
 * partial text stays printed.
 */
export class IncompleteJsonError extends Error {
  readonly code = 'JSON_INCOMPLETE';
  constructor(message: string) {
    super(message);
    this.name = 'IncompleteJsonError';
  }
}

/**
 * Codes that are the caller's to fix by changing the command; every other SmolVLMError is a runtime
 * failure (exit 1): VIDEO_INVALID like a bad image, VIDEO_DECODER_MISSING like a missing model file.
 */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['USAGE', 'PROMPT_INVALID', 'VIDEO_UNSUPPORTED']);

/** What an error becomes on the command line. */
export interface CliError {
  /** Stable code: the core's ErrorCode, `USAGE` for commander errors, `INTERNAL` for anything unexpected. */
  code: string;
  message: string;
  exitCode: number;
}

export function classifyError(error: unknown): CliError {
  if (isSmolVLMError(error)) {
    const exitCode = error.code === 'ABORTED' ? EXIT_INTERRUPTED : USAGE_CODES.has(error.code) ? EXIT_USAGE : EXIT_FAILURE;
    return { code: error.code, message: error.message, exitCode };
  }
  if (error instanceof UsageError) return { code: 'USAGE', message: error.message, exitCode: EXIT_USAGE };
  if (error instanceof IncompleteJsonError) return { code: error.code, message: error.message, exitCode: EXIT_FAILURE };
  if (error instanceof CommanderError) {
    const message = error.message.replace(/^error:\s*/i, '').trim().replace(/\s*\n\s*/g, ' ');
    return { code: 'USAGE', message, exitCode: EXIT_USAGE };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: message.split('\n')[0] || 'unexpected error', exitCode: EXIT_FAILURE };
}

export interface ErrorReportOptions {
  json?: boolean;
  verbose?: boolean;
  /** Colours the "error:" prefix. */
  paint?: (text: string) => string;
  /** Extra fields for the JSON object (e.g. the image an error belongs to). */
  extra?: Record<string, unknown>;
  write?: (text: string) => void;
}

/** Writes the error to stderr and returns its exit code. */
export function reportError(error: unknown, options: ErrorReportOptions = {}): number {
  const info = classifyError(error);
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  if (options.json) {
    write(`${JSON.stringify({ error: { code: info.code, message: info.message, exit_code: info.exitCode, ...options.extra } })}\n`);
  } else {
    const prefix = options.paint ? options.paint('error:') : 'error:';
    write(`smolvlm: ${prefix} ${info.message}\n`);
  }
  if (options.verbose && error instanceof Error && error.stack && !(error instanceof CommanderError)) {
    write(`${error.stack}\n`);
    let cause = error.cause;
    for (let depth = 0; depth < 5 && cause instanceof Error; depth++, cause = cause.cause) write(`caused by: ${cause.stack ?? cause.message}\n`);
  }
  return info.exitCode;
}

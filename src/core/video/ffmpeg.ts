/**
 * Finding and running ffmpeg. The binary comes from `SMOLVLM_FFMPEG` when set, else from the
 * `@ffmpeg-installer/ffmpeg` package (a per-platform npm package that ships a static build, so `npm ci`
 * needs nothing beyond the npm registry), else `ffmpeg` on PATH.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { SmolVLMError } from '../errors.js';

export const FFMPEG_ENV = 'SMOLVLM_FFMPEG';

/** Where the ffmpeg binary was found, for `--verbose` and error messages. */
export interface FfmpegBinary {
  path: string;
  source: 'env' | 'package' | 'path';
}

function bundledFfmpeg(): string | undefined {
  try {
    // The package throws (a string) on platforms it has no binary for; that is "not bundled".
    const pkg = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path?: unknown };
    return typeof pkg.path === 'string' ? pkg.path : undefined;
  } catch {
    return undefined;
  }
}

/** The ffmpeg to run. Does not start it; `runFfmpeg` reports a missing or broken binary. */
export function resolveFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegBinary {
  const override = env[FFMPEG_ENV];
  if (override) return { path: override, source: 'env' };
  const bundled = bundledFfmpeg();
  if (bundled) return { path: bundled, source: 'package' };
  return { path: 'ffmpeg', source: 'path' };
}

export interface RunFfmpegOptions {
  binary: FfmpegBinary;
  /** Receives stdout as it arrives (frames, packet lists); without it stdout is discarded. */
  onStdout?: (chunk: Buffer) => void;
  signal?: AbortSignal;
  /** Names the input in error messages. */
  label: string;
  /** Turns a failed run's stderr into the reason shown (default: ffmpeg's last line). */
  reason?: (stderr: string) => string | undefined;
}

/** Keeps the last lines of stderr: ffmpeg's reason for failing is at the end. */
const STDERR_KEEP = 8192;

function missingBinary(binary: FfmpegBinary, error: NodeJS.ErrnoException): SmolVLMError {
  const where =
    binary.source === 'env' ? `${FFMPEG_ENV}=${binary.path}` : binary.source === 'package' ? `the bundled ffmpeg (${binary.path})` : '`ffmpeg` on PATH';
  return new SmolVLMError(
    'VIDEO_DECODER_MISSING',
    `cannot run ffmpeg to read videos: ${where} ${error.code === 'ENOENT' ? 'does not exist' : `failed to start (${error.code ?? error.message})`}; install ffmpeg or set ${FFMPEG_ENV} to its path`,
    { cause: error },
  );
}

/** The last meaningful stderr line, without ffmpeg's `[demuxer @ 0x...]` prefixes. */
export function ffmpegReason(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/i, '').trim())
    .filter((line) => line.length > 0);
  return lines[lines.length - 1] ?? 'no message';
}

/**
 * Runs ffmpeg with `args` (no stdin, banner hidden), streaming stdout to `onStdout`. Resolves with the
 * tail of stderr when it exits 0; rejects with VIDEO_INVALID naming the input and ffmpeg's last line
 * otherwise, VIDEO_DECODER_MISSING when the binary cannot start, ABORTED when the signal fires.
 */
export function runFfmpeg(args: readonly string[], options: RunFfmpegOptions): Promise<string> {
  const { binary, signal, label } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new SmolVLMError('ABORTED', 'cancelled'));
      return;
    }
    const child = spawn(binary.path, ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      child.kill('SIGKILL');
      settle(() => reject(new SmolVLMError('ABORTED', 'cancelled')));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      if (settled) return;
      try {
        options.onStdout?.(chunk);
      } catch (error) {
        child.kill('SIGKILL');
        settle(() => reject(error));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr = (stderr + text).slice(-STDERR_KEEP);
    });
    child.on('error', (error: NodeJS.ErrnoException) => settle(() => reject(missingBinary(binary, error))));
    child.on('close', (code) => {
      if (code === 0) settle(() => resolve(stderr));
      else {
        const why = options.reason?.(stderr) ?? ffmpegReason(stderr);
        settle(() => reject(new SmolVLMError('VIDEO_INVALID', `cannot read video ${JSON.stringify(label)}: ${why}`)));
      }
    });
  });
}

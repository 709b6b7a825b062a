/**
 * Waiting between attempts at a remote request: exponential backoff with jitter, or what the server's
 * Retry-After asks for. Hand-written: it is a dozen lines, and the retry libraries on npm either wrap
 * the whole call (hiding the Retry-After of each answer) or bring their own fetch.
 */
import { SmolVLMError } from '../errors.js';

export interface BackoffOptions {
  /** The first wait (default 500 ms); each further one doubles, up to maxMs. */
  initialMs?: number;
  /** The longest backoff wait (default 30 s). */
  maxMs?: number;
  /** The longest Retry-After honoured (default 5 minutes); a longer one is cut to it. */
  maxRetryAfterMs?: number;
  /** Random numbers in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
}

export const DEFAULT_BACKOFF_INITIAL_MS = 500;
export const DEFAULT_BACKOFF_MAX_MS = 30_000;
export const DEFAULT_MAX_RETRY_AFTER_MS = 300_000;

/**
 * The wait before retry number `retry` (0 for the first): half of the exponential step fixed, half
 * random ("equal jitter"), so clients that failed together do not all come back together.
 */
export function backoffDelay(retry: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
  const step = Math.min(options.maxMs ?? DEFAULT_BACKOFF_MAX_MS, initial * 2 ** retry);
  return step / 2 + (options.random ?? Math.random)() * (step / 2);
}

/** A Retry-After header (seconds, or an HTTP date) in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Waits `ms`, or rejects with an ABORTED SmolVLMError as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancelled = () => new SmolVLMError('ABORTED', `${what} was cancelled`);
    if (signal.aborted) return reject(cancelled());
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/*
 * HTTP for the Hub client: the request context (endpoint, token, timeouts, retries) built from the options and
 * the environment, fetch with an idle timeout, retries with backoff, and the errors the Hub's answers become.
 */
import { cancelledError, SmolVLMError } from '../errors.js';
import { describeFetchFailure, fetchFailureCode, isLastingFetchFailure } from '../network-errors.js';
import { DEFAULT_ENDPOINT, type HubEnvSettings } from './env.js';
import { formatRef } from './model-reference.js';
import type { HubOptions } from './options.js';

export interface RetryOptions {
  /** Further attempts after the first, for 5xx/429 answers and network errors (default 4). */
  retries?: number;
  /** First backoff delay; doubled each attempt with jitter (default 500 ms). */
  minDelayMs?: number;
  /** Cap of one backoff delay (default 8000 ms). */
  maxDelayMs?: number;
}

export interface HttpContext {
  endpoint: string;
  token?: string;
  /** Where the token came from, for error messages (never the token itself). */
  tokenSource?: string;
  fetch: typeof fetch;
  signal?: AbortSignal;
  retry: Required<RetryOptions>;
  metadataTimeoutMs: number;
  /** A download receiving no byte for this long is aborted and resumed. */
  downloadTimeoutMs: number;
}

const DEFAULT_RETRY: Required<RetryOptions> = { retries: 4, minDelayMs: 500, maxDelayMs: 8000 };

/** A failure worth retrying (connection reset, timeout, 5xx, 429). */
export class TransientError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function abortedError(signal: AbortSignal | undefined): SmolVLMError {
  return cancelledError('download', signal);
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function backoffDelay(attempt: number, retry: Required<RetryOptions>): number {
  const base = Math.min(retry.maxDelayMs, retry.minDelayMs * 2 ** attempt);
  return Math.round(base * (0.5 + Math.random() / 2));
}

/** The bearer token goes to the endpoint's own origin only, never to a CDN a redirect points to. */
export function authHeaders(ctx: HttpContext, url: string): Record<string, string> {
  if (!ctx.token) return {};
  return new URL(url).origin === new URL(ctx.endpoint).origin ? { Authorization: `Bearer ${ctx.token}` } : {};
}

export function resolveUrl(ctx: HttpContext, repo: string, revision: string, file: string): string {
  return `${ctx.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

export interface TimedResponse {
  res: Response;
  /** Restarts the idle timer (call on every chunk). */
  touch(): void;
  /** Stops the timer. */
  done(): void;
}

/**
 * One fetch with an idle timeout that also covers reading the body (touch() on progress). Network failures and
 * timeouts become TransientError; the caller's abort becomes SmolVLMError ABORTED.
 */
export async function timedFetch(ctx: HttpContext, url: string, init: RequestInit, timeoutMs: number): Promise<TimedResponse> {
  throwIfAborted(ctx.signal);
  const timeout = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => timeout.abort(new TransientError(`no data for ${timeoutMs} ms`)), timeoutMs).unref();
  };
  const done = (): void => clearTimeout(timer);
  touch();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout.signal]) : timeout.signal;
  try {
    const res = await ctx.fetch(url, { ...init, signal });
    return { res, touch, done };
  } catch (error) {
    done();
    throw classifyStreamError(ctx, error, timeout.signal, url);
  }
}

/** Maps an error thrown by fetch or by reading a body. */
export function classifyStreamError(ctx: HttpContext, error: unknown, timeoutSignal: AbortSignal | undefined, url: string): Error {
  if (error instanceof SmolVLMError || error instanceof TransientError) return error;
  if (ctx.signal?.aborted) return abortedError(ctx.signal);
  if (timeoutSignal?.aborted) {
    const reason: unknown = timeoutSignal.reason;
    return reason instanceof TransientError ? reason : new TransientError('timed out');
  }
  const hint = fetchFailureCode(error) === 'ENOTFOUND' ? '; no network, or a wrong HF_ENDPOINT?' : '';
  return new TransientError(`${new URL(url).host}: ${describeFetchFailure(error, url)}${hint}`, undefined, { cause: error });
}

export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

export function networkError(what: string, error: TransientError, attempts: number): SmolVLMError {
  const detail = error.status ? `HTTP ${error.status}` : error.message;
  const tries = attempts > 1 ? ` (gave up after ${attempts} attempts)` : '';
  return new SmolVLMError('NETWORK', `${what}: ${detail}${tries}; models already in the cache work offline (HF_HUB_OFFLINE=1)`, { cause: error });
}

/**
 * A request retried with backoff on network errors, timeouts, 5xx and 429. Returns any other response (2xx, 3xx,
 * 4xx) for the caller to interpret; throws NETWORK when the attempts are spent.
 */
export async function requestWithRetry(ctx: HttpContext, url: string, init: RequestInit, what: string): Promise<Response> {
  let last: TransientError | undefined;
  for (let attempt = 0; attempt <= ctx.retry.retries; attempt++) {
    if (attempt > 0) await sleep(backoffDelay(attempt - 1, ctx.retry), ctx.signal);
    try {
      const { res, done } = await timedFetch(ctx, url, init, ctx.metadataTimeoutMs);
      if (!isRetryableStatus(res.status)) {
        // a body the caller still reads stays under the (unref'd) deadline
        if (init.method === 'HEAD') done();
        return res;
      }
      done();
      await res.body?.cancel().catch(() => undefined);
      last = new TransientError(`HTTP ${res.status}`, res.status);
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      last = error;
      if (isLastingFetchFailure(error)) throw networkError(what, error, attempt + 1);
    }
  }
  throw networkError(what, last ?? new TransientError('failed'), ctx.retry.retries + 1);
}

export interface ErrorContext {
  repo: string;
  revision: string;
  file?: string;
}

/** The SmolVLMError for a 4xx answer of the Hub. */
export function hubHttpError(ctx: HttpContext, res: Response, where: ErrorContext): SmolVLMError {
  const code = res.headers.get('x-error-code') ?? '';
  const ref = formatRef(where.repo, where.revision);
  const status = res.status;
  if (status === 401 || status === 403) {
    const tokenNote = ctx.token
      ? `The token from ${ctx.tokenSource ?? 'the options'} was sent but does not grant access.`
      : 'No token was sent: set HF_TOKEN (or save one to $HF_HOME/token, e.g. with `hf auth login`).';
    const what =
      code === 'GatedRepo'
        ? `${where.repo} is gated: accept its conditions on ${ctx.endpoint}/${where.repo} and use a token of that account.`
        : code === 'RepoNotFound'
          ? `${where.repo} was not found on ${ctx.endpoint}, or it is private or gated (check the name).`
          : `access to ${where.repo} was refused by ${ctx.endpoint} (HTTP ${status}); it may be gated or private.`;
    return new SmolVLMError('HUB_AUTH', `${what} ${tokenNote}`);
  }
  if (status === 404) {
    if (code === 'RepoNotFound') return new SmolVLMError('HUB_NOT_FOUND', `repository ${where.repo} not found on ${ctx.endpoint}`);
    if (code === 'RevisionNotFound') return new SmolVLMError('HUB_NOT_FOUND', `revision "${where.revision}" not found in ${where.repo}`);
    return new SmolVLMError(
      'HUB_NOT_FOUND',
      where.file ? `${where.file} not found in ${ref}` : `${ref} not found on ${ctx.endpoint}`,
    );
  }
  return new SmolVLMError('NETWORK', `unexpected HTTP ${status} from ${new URL(res.url || ctx.endpoint).host} for ${where.file ?? ref}`);
}

/** The Hub endpoint without a trailing slash, refused with a message naming where it came from unless it is an http(s) URL. */
function checkedEndpoint(options: HubOptions, settings: HubEnvSettings): string {
  const endpoint = (options.endpoint ?? settings.endpoint).trim().replace(/\/+$/, '');
  let protocol = '';
  try {
    protocol = new URL(endpoint).protocol;
  } catch {
    // not a URL at all: refused below
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    const source = options.endpoint !== undefined ? 'the endpoint option' : 'HF_ENDPOINT';
    throw new SmolVLMError('USAGE', `${source} is not an http(s) URL: "${endpoint}" (expected e.g. ${DEFAULT_ENDPOINT})`);
  }
  return endpoint;
}

/** The context of the requests of one call, from its options over the environment's settings. */
export function createHttpContext(options: HubOptions, settings: HubEnvSettings): HttpContext {
  const endpoint = checkedEndpoint(options, settings);
  const fromEnv = options.token === undefined ? settings.token : undefined;
  const token = options.token === false ? undefined : (options.token ?? fromEnv?.token);
  const tokenSource = typeof options.token === 'string' ? 'the token option' : fromEnv ? (fromEnv.path ?? fromEnv.source) : undefined;
  return {
    endpoint,
    ...(token ? { token } : {}),
    ...(tokenSource ? { tokenSource } : {}),
    fetch: options.fetch ?? globalThis.fetch,
    ...(options.signal ? { signal: options.signal } : {}),
    retry: { ...DEFAULT_RETRY, ...options.retry },
    metadataTimeoutMs: options.timeouts?.metadataMs ?? settings.metadataTimeoutMs ?? 10_000,
    downloadTimeoutMs: options.timeouts?.stallMs ?? settings.downloadTimeoutMs ?? 30_000,
  };
}

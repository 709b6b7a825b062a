import { SmolVLMError } from '../errors.js';
import { describeFetchFailure, fetchFailureCode, isLastingFetchFailure } from '../network-errors.js';
import { formatRef } from './model-reference.js';

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

export const DEFAULT_RETRY: Required<RetryOptions> = { retries: 4, minDelayMs: 500, maxDelayMs: 8000 };

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

export function abortedError(signal: AbortSignal | undefined): SmolVLMError {
  const reason: unknown = signal?.reason;
  return new SmolVLMError('ABORTED', 'download cancelled', reason instanceof Error ? { cause: reason } : undefined);
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

export interface FileMetadata {
  file: string;
  commit: string;
  /** Normalised ETag: sha256 for LFS/xet files, git blob sha1 otherwise; also the blob's file name. */
  etag: string;
  size: number;
  /** Where to GET the bytes: the CDN Location of a redirect, else the resolve URL. */
  url: string;
}

export type HeadResult = { found: true; meta: FileMetadata } | { found: false; response: Response };

export function normalizeEtag(value: string | null): string | undefined {
  if (!value) return undefined;
  return value.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

function isAbsoluteUrl(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(location) || location.startsWith('//');
}

/**
 * HEAD `resolve/{revision}/{file}` like huggingface_hub's get_hf_file_metadata: relative redirects (renamed repos)
 * are followed, an absolute one (the CDN) is not, and the Hub's headers are read from the last Hub response.
 */
export async function headFile(ctx: HttpContext, repo: string, revision: string, file: string): Promise<HeadResult> {
  let url = resolveUrl(ctx, repo, revision, file);
  const where = { repo, revision, file };
  for (let hops = 0; ; hops++) {
    const res = await requestWithRetry(
      ctx,
      url,
      { method: 'HEAD', redirect: 'manual', headers: { 'Accept-Encoding': 'identity', ...authHeaders(ctx, url) } },
      `cannot look up ${file} of ${formatRef(repo, revision)}`,
    );
    const location = res.headers.get('location');
    const isRedirect = res.status >= 300 && res.status < 400;
    // relative redirects (renamed repo, resolve-cache) and absolute ones to the endpoint itself are the Hub's own:
    // followed; another origin is the CDN, whose 302 carries the metadata
    if (isRedirect && location && hops < 10) {
      const next = new URL(location, url);
      if (!isAbsoluteUrl(location) || next.origin === new URL(ctx.endpoint).origin) {
        url = next.href;
        continue;
      }
    }
    if (res.status === 404) return { found: false, response: res };
    if (!res.ok && !isRedirect) throw hubHttpError(ctx, res, where);
    const commit = res.headers.get('x-repo-commit');
    const etag = normalizeEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag'));
    const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length') ?? NaN);
    if (!commit || !etag || !Number.isSafeInteger(size) || size < 0) {
      throw new SmolVLMError(
        'NETWORK',
        `${new URL(url).host} answered for ${file} without X-Repo-Commit/ETag/size headers; is ${ctx.endpoint} a Hugging Face Hub endpoint?`,
      );
    }
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(etag)) {
      throw new SmolVLMError('NETWORK', `unusable ETag "${etag}" for ${file} from ${new URL(url).host}`);
    }
    return {
      found: true,
      meta: { file, commit, etag, size, url: isRedirect && location ? new URL(location, url).href : url },
    };
  }
}

interface TreeEntry {
  type: string;
  path: string;
}

/** A page of the tree API, checked; undefined when the body is not the expected JSON array. */
async function readTreePage(res: Response): Promise<TreeEntry[] | undefined> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return undefined;
  }
  if (!Array.isArray(body)) return undefined;
  const entries: TreeEntry[] = [];
  for (const item of body as unknown[]) {
    if (typeof item !== 'object' || item === null) return undefined;
    const { type, path } = item as Record<string, unknown>;
    if (typeof type !== 'string' || typeof path !== 'string') return undefined;
    entries.push({ type, path });
  }
  return entries;
}

/**
 * The `rel="next"` URL of a Link header (the tree API pages long listings). Hand-written: one regular expression
 * for the one relation used, not worth a dependency.
 */
function nextPageUrl(link: string | null, current: string): string | undefined {
  const next = link?.split(',').find((part) => /;\s*rel="?next"?/i.test(part));
  const target = next ? /<([^>]*)>/.exec(next)?.[1] : undefined;
  return target ? new URL(target, current).href : undefined;
}

/** A failed tree request: 401/403 and a missing repo, revision or onnx/ folder are errors; anything else means "not served". */
function treeError(ctx: HttpContext, res: Response, repo: string, commit: string): SmolVLMError | undefined {
  const code = res.headers.get('x-error-code') ?? '';
  if (res.status === 401 || res.status === 403) return hubHttpError(ctx, res, { repo, revision: commit });
  if (res.status === 404 && code === 'EntryNotFound') {
    return new SmolVLMError('HUB_NOT_FOUND', `${repo} has no onnx/ folder at ${commit.slice(0, 12)}: it has no ONNX export`);
  }
  if (res.status === 404 && (code === 'RepoNotFound' || code === 'RevisionNotFound')) return hubHttpError(ctx, res, { repo, revision: commit });
  return undefined;
}

/**
 * Names of the files directly inside `onnx/` at a commit, from the tree API
 * (`GET {endpoint}/api/models/{repo}/tree/{commit}/onnx`, following `Link: <...>; rel="next"` pages);
 * undefined when the endpoint does not serve it (the caller then probes with HEAD requests).
 */
export async function listOnnxFolder(ctx: HttpContext, repo: string, commit: string): Promise<string[] | undefined> {
  const names: string[] = [];
  let url: string | undefined = `${ctx.endpoint}/api/models/${repo}/tree/${encodeURIComponent(commit)}/onnx`;
  while (url !== undefined) {
    const headers = { Accept: 'application/json', ...authHeaders(ctx, url) };
    const res = await requestWithRetry(ctx, url, { method: 'GET', headers }, `cannot list the files of ${formatRef(repo, commit)}`);
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      const error = treeError(ctx, res, repo, commit);
      if (error) throw error;
      return undefined;
    }
    const entries = await readTreePage(res);
    if (!entries) return undefined;
    for (const entry of entries) if (entry.type === 'file' && entry.path.startsWith('onnx/')) names.push(entry.path.slice('onnx/'.length));
    url = nextPageUrl(res.headers.get('link'), url);
  }
  return names;
}

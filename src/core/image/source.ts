/**
 * Turns an image argument into bytes: a path (`~` expanded, relative to `cwd`), a `file://` URL,
 * an `http(s)://` URL, a `data:` URI, or `-` for stdin. No decoding happens here; the bytes are
 * only sniffed (magic numbers) so that an HTML error page or a text file is refused with a clear
 * message before it reaches the decoder.
 */
import { readFile, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { cancelledError, SmolVLMError } from '../errors.js';
import { formatBytes } from '../format.js';
import { describeFetchFailure } from '../network-errors.js';
import { packageVersion } from '../version.js';
import { describeNonImage, sniffImageFormat, supportedFormatList, type ImageFormat } from './sniff.js';
import { resolveLocalPath, isFileUrl } from './references.js';

export { sniffImageFormat, describeNonImage, IMAGE_FORMAT_NAMES, type ImageFormat } from './sniff.js';
export { IMAGE_EXTENSIONS, expandHome, hasImageExtension, resolveLocalPath, type PathResolveOptions } from './references.js';

export const DEFAULT_IMAGE_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_IMAGE_BYTES = 50 * 1024 * 1024;
export const MAX_REDIRECTS = 10;
/** The argument that means "read the image from stdin". */
export const STDIN_SOURCE = '-';

export interface ImageSourceOptions {
  /** Directory relative paths are resolved against (default: process.cwd()). */
  cwd?: string;
  /** What `~` expands to (default: os.homedir()). */
  homeDir?: string;
  /** Where `-` reads from (default: process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** Whole-download limit for http(s) URLs, headers and body together (default 30 000 ms). */
  timeoutMs?: number;
  /** Byte cap for every kind of source (default 50 MiB); enforced while streaming. */
  maxBytes?: number;
  signal?: AbortSignal;
  /** fetch implementation (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** User-Agent for downloads (default: `smolvlm/<package version>`). */
  userAgent?: string;
  /** What messages call bytes given directly (default 'image bytes'): the file they were read from, say. */
  bytesLabel?: string;
}

export interface LoadedImageBytes {
  bytes: Uint8Array;
  /** What to name in messages: the path as given, the URL, 'stdin', 'data: URI', 'image bytes'. */
  label: string;
  /** Always set: bytes that sniff as no supported format are refused (IMAGE_INVALID). */
  format: ImageFormat;
  /** 'bytes' when readImageSource was handed a Uint8Array. */
  source: 'file' | 'url' | 'stdin' | 'data' | 'bytes';
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function formatMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

export function tooLarge(label: string, limit: number, size?: number): SmolVLMError {
  const what = size === undefined ? `is larger than` : `is ${formatBytes(size)}, over`;
  return new SmolVLMError('IMAGE_TOO_LARGE', `image ${label} ${what} the ${formatBytes(limit)} limit`);
}

function aborted(label: string, signal?: AbortSignal): SmolVLMError {
  return cancelledError(`reading image ${label}`, signal);
}

function checkPositive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new SmolVLMError('USAGE', `${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** Where bytes were read from. */
export type SourceKind = LoadedImageBytes['source'];

/**
 * What a reader does with the bytes it has read: sniff them and return what the caller wants, or
 * refuse them. `acceptImage` for images; video/source.ts passes one that also takes videos.
 */
export type SourceAcceptor<T> = (bytes: Uint8Array, label: string, source: SourceKind, contentType?: string) => T;

/** Refuses empty bytes with a message naming the source. */
export function refuseEmpty(bytes: Uint8Array, label: string, source: SourceKind): void {
  if (bytes.length === 0) {
    const hint = source === 'stdin' ? ': nothing was piped in for "-"' : ' (0 bytes)';
    throw new SmolVLMError('IMAGE_INVALID', `image ${label} is empty${hint}`);
  }
}

/** Sniffs the bytes and refuses empty or non-image data with a message naming the source. */
export function acceptImage(bytes: Uint8Array, label: string, source: SourceKind, contentType?: string): LoadedImageBytes {
  refuseEmpty(bytes, label, source);
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    const looks = describeNonImage(bytes);
    const served = contentType ? `, served as ${contentType}` : '';
    const what = looks ? `it is ${looks}${served}` : `unrecognised data${served}`;
    throw new SmolVLMError(
      'IMAGE_INVALID',
      `${label} is not a supported image (${what}; expected ${supportedFormatList()})`,
    );
  }
  return { bytes, label, format, source };
}

/** Copies chunks into one exactly-sized Uint8Array (never a view into a shared pool). */
function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Reads a Node stream to the end, refusing more than maxBytes as soon as it is exceeded and
 * stopping on abort. The stream is destroyed (when it can be) if reading stops early.
 */
function collectStream(
  stream: NodeJS.ReadableStream,
  label: string,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const cleanup = (): void => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const stop = (error: Error): void => {
      cleanup();
      const destroy = (stream as { destroy?: (error?: Error) => void }).destroy;
      if (typeof destroy === 'function') destroy.call(stream);
      else stream.pause();
      reject(error);
    };
    const onData = (chunk: string | Uint8Array): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      total += bytes.length;
      if (total > maxBytes) return stop(tooLarge(label, maxBytes));
      chunks.push(bytes);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(concat(chunks, total));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(new SmolVLMError('IMAGE_INVALID', `could not read image ${label}: ${error.message}`, { cause: error }));
    };
    const onAbort = (): void => stop(aborted(label, signal));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.resume();
  });
}

// ---------------------------------------------------------------------------------------------
// stdin

/** How many of the sources are `-` (stdin). */
export function countStdinSources(sources: readonly (string | Uint8Array)[]): number {
  return sources.filter((source) => source === STDIN_SOURCE).length;
}

/** Throws SmolVLMError('USAGE') when `-` (stdin) appears more than once: stdin can be read only once. */
export function assertSingleStdinSource(sources: readonly (string | Uint8Array)[]): void {
  const count = countStdinSources(sources);
  if (count > 1) {
    throw new SmolVLMError('USAGE', `"-" (read the image from stdin) can be given only once per request, got it ${count} times`);
  }
}

async function readStdin<T>(options: ImageSourceOptions, maxBytes: number, accept: SourceAcceptor<T>): Promise<T> {
  const label = 'stdin';
  const stream = options.stdin ?? process.stdin;
  if ((stream as { isTTY?: boolean }).isTTY === true) {
    throw new SmolVLMError('USAGE', '"-" reads the image from stdin, but stdin is a terminal: pipe an image in (… - < photo.jpg)');
  }
  const bytes = await collectStream(stream, label, maxBytes, options.signal);
  return accept(bytes, label, 'stdin');
}

// ---------------------------------------------------------------------------------------------
// data: URIs

function percentDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 /* % */ && /^[0-9a-f]{2}$/i.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      out.push(c);
    } else {
      const cp = text.codePointAt(i)!;
      out.push(...Buffer.from(String.fromCodePoint(cp)));
      if (cp > 0xffff) i++;
    }
  }
  return Uint8Array.from(out);
}

function readDataUri<T>(uri: string, maxBytes: number, accept: SourceAcceptor<T>): T {
  const label = 'data: URI';
  const comma = uri.indexOf(',');
  if (comma < 0) throw new SmolVLMError('IMAGE_INVALID', `malformed data: URI (no "," before the data): ${uri.slice(0, 40)}…`);
  const meta = uri.slice(5, comma).split(';').map((part) => part.trim().toLowerCase());
  const isBase64 = meta.includes('base64');
  const payload = uri.slice(comma + 1);
  // Estimate first, so a huge pasted URI is refused before it is decoded.
  const estimate = isBase64 ? Math.floor((payload.length * 3) / 4) - 2 : Math.floor(payload.length / 3);
  if (estimate > maxBytes) throw tooLarge(label, maxBytes);
  let bytes: Uint8Array;
  if (isBase64) {
    // Pasted URIs may be wrapped across lines or percent-encoded (%2B, %2F, %3D).
    const clean = (/%[0-9a-f]{2}/i.test(payload) ? Buffer.from(percentDecode(payload)).toString('latin1') : payload).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean) || clean.replace(/=+$/, '').length % 4 === 1) {
      throw new SmolVLMError('IMAGE_INVALID', 'data: URI is not valid base64');
    }
    const buffer = Buffer.from(clean, 'base64');
    bytes = concat([buffer], buffer.length);
  } else {
    bytes = percentDecode(payload);
  }
  if (bytes.length > maxBytes) throw tooLarge(label, maxBytes, bytes.length);
  return accept(bytes, label, 'data');
}

// ---------------------------------------------------------------------------------------------
// Files

async function readLocalFile<T>(given: string, options: ImageSourceOptions, maxBytes: number, accept: SourceAcceptor<T>): Promise<T> {
  const label = given;
  const absolute = resolveLocalPath(given, { cwd: options.cwd, homeDir: options.homeDir });
  const where = absolute === given ? '' : ` (${absolute})`;
  let info;
  try {
    info = await stat(absolute);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new SmolVLMError('IMAGE_NOT_FOUND', `image not found: ${given}${where}`, { cause });
    }
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (cause as Error).message;
    throw new SmolVLMError('IMAGE_NOT_FOUND', `cannot open image ${given}${where}: ${reason}`, { cause });
  }
  if (info.isDirectory()) {
    throw new SmolVLMError('IMAGE_NOT_FOUND', `${given}${where} is a directory, not an image file`);
  }
  if (options.signal?.aborted) throw aborted(label, options.signal);
  let bytes: Uint8Array;
  try {
    if (info.isFile()) {
      if (info.size > maxBytes) throw tooLarge(label, maxBytes, info.size);
      bytes = await readFile(absolute, { signal: options.signal });
      // A file that grew between stat and read.
      if (bytes.length > maxBytes) throw tooLarge(label, maxBytes, bytes.length);
    } else {
      // A pipe or character device (`<(curl …)`, /dev/stdin): its size is unknown, so stream it.
      bytes = await collectStream(createReadStream(absolute), label, maxBytes, options.signal);
    }
  } catch (cause) {
    if (cause instanceof SmolVLMError) throw cause;
    if ((cause as Error).name === 'AbortError' || options.signal?.aborted) throw aborted(label, options.signal);
    const code = (cause as NodeJS.ErrnoException).code;
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (cause as Error).message;
    throw new SmolVLMError('IMAGE_NOT_FOUND', `cannot read image ${given}${where}: ${reason}`, { cause });
  }
  return accept(bytes, label, 'file');
}

// ---------------------------------------------------------------------------------------------
// http(s)

/** `smolvlm/<version>` */
export async function defaultUserAgent(): Promise<string> {
  return `smolvlm/${packageVersion()}`;
}

/** The URL for messages, with any password hidden. */
function urlLabel(given: string): string {
  try {
    const url = new URL(given);
    if (url.password) {
      url.password = '***';
      return url.toString();
    }
  } catch {
    // reported by the caller
  }
  return given;
}

/**
 * The whole-download deadline and the caller's signal as one AbortSignal, and `stopped`, a promise that rejects
 * when either fires (raced against every await, in case a custom fetch ignores the signal).
 */
function downloadDeadline(timeoutMs: number, signal: AbortSignal | undefined) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${formatMs(timeoutMs)}`));
  }, timeoutMs);
  const forwardAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', forwardAbort, { once: true });
  const stopped = new Promise<never>((_, reject) => {
    const onAbort = (): void => reject(controller.signal.reason);
    if (controller.signal.aborted) onAbort();
    else controller.signal.addEventListener('abort', onAbort, { once: true });
  });
  stopped.catch(() => undefined);
  return {
    signal: controller.signal,
    stopped,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forwardAbort);
    },
  };
}

type DownloadFailure = (reason: string, cause?: unknown) => SmolVLMError;

/**
 * GETs `at.url`, following up to MAX_REDIRECTS redirects by hand (so that none leads off http(s)); `at.url` is
 * the URL of the last request, also when one fails.
 */
async function fetchFollowingRedirects(
  at: { url: URL },
  doFetch: typeof fetch,
  userAgent: string,
  deadline: ReturnType<typeof downloadDeadline>,
  fail: DownloadFailure,
): Promise<{ response: Response; redirects: number }> {
  for (let redirects = 0; ; ) {
    const url = at.url;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw fail(`redirected to a ${url.protocol} URL, which is not allowed`);
    }
    const response = await Promise.race([
      doFetch(url, { redirect: 'manual', signal: deadline.signal, headers: { 'user-agent': userAgent, accept: 'image/*,*/*;q=0.5' } }),
      deadline.stopped,
    ]);
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || location === null) return { response, redirects };
    await response.body?.cancel().catch(() => undefined);
    if (++redirects > MAX_REDIRECTS) throw fail(`too many redirects (more than ${MAX_REDIRECTS})`);
    at.url = new URL(location, url);
  }
}

/** Reads a response body, refusing more than maxBytes as soon as it is exceeded. */
async function readBody(response: Response, label: string, maxBytes: number, stopped: Promise<never>): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(label, maxBytes, declared);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (!response.body) return concat(chunks, total);
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), stopped]);
      if (done) break;
      total += value.length;
      if (total > maxBytes) throw tooLarge(label, maxBytes);
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel().catch(() => undefined);
    throw error;
  }
  return concat(chunks, total);
}

async function download<T>(given: string, options: ImageSourceOptions, maxBytes: number, accept: SourceAcceptor<T>): Promise<T> {
  const label = urlLabel(given);
  const timeoutMs = checkPositive('timeoutMs', options.timeoutMs, DEFAULT_IMAGE_TIMEOUT_MS);
  const userAgent = options.userAgent ?? (await defaultUserAgent());
  let at: { url: URL };
  try {
    at = { url: new URL(given) };
  } catch (cause) {
    throw new SmolVLMError('USAGE', `not a valid URL: ${label}`, { cause });
  }
  const fail: DownloadFailure = (reason, cause) => new SmolVLMError('NETWORK', `could not download ${label}: ${reason}`, { cause });
  if (options.signal?.aborted) throw aborted(label, options.signal);
  const deadline = downloadDeadline(timeoutMs, options.signal);
  try {
    const got = await fetchFollowingRedirects(at, options.fetch ?? globalThis.fetch, userAgent, deadline, fail);
    const { response } = got;
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      const text = response.statusText || STATUS_CODES[response.status] || '';
      const via = got.redirects > 0 ? ` (redirected to ${urlLabel(at.url.toString())})` : '';
      throw fail(`HTTP ${response.status}${text ? ` ${text}` : ''}${via}`);
    }
    const bytes = await readBody(response, label, maxBytes, deadline.stopped);
    return accept(bytes, label, 'url', response.headers.get('content-type') ?? undefined);
  } catch (error) {
    if (error instanceof SmolVLMError) throw error;
    if (options.signal?.aborted) throw aborted(label, options.signal);
    if (deadline.timedOut()) throw fail(`timed out after ${formatMs(timeoutMs)}`, error);
    throw fail(describeFetchFailure(error, at.url), error);
  } finally {
    deadline.dispose();
  }
}

// ---------------------------------------------------------------------------------------------

/** What messages call a source: the path or URL as given, 'stdin', 'data: URI' or 'image bytes'. */
export function sourceLabel(source: string | Uint8Array): string {
  if (typeof source !== 'string') return 'image bytes';
  if (source === STDIN_SOURCE) return 'stdin';
  if (/^data:/i.test(source)) return 'data: URI';
  if (/^https?:\/\//i.test(source)) return urlLabel(source);
  return source;
}

/**
 * The bytes of one image argument, sniffed. `source` may be a path (`~` expanded, relative to
 * options.cwd), a `file://` URL, an `http(s)://` URL, a `data:` URI, `-` (stdin), or the bytes
 * themselves. Errors are SmolVLMError with a one-line message naming the source:
 * IMAGE_NOT_FOUND, IMAGE_INVALID, IMAGE_TOO_LARGE, NETWORK, ABORTED, USAGE.
 */
export async function readImageSource(source: string | Uint8Array, options: ImageSourceOptions = {}): Promise<LoadedImageBytes> {
  return readSource(source, options, checkPositive('maxBytes', options.maxBytes, DEFAULT_MAX_IMAGE_BYTES), acceptImage);
}

/** readImageSource with the bytes' check (and what it returns) given by `accept`, and its own byte cap. */
export async function readSource<T>(source: string | Uint8Array, options: ImageSourceOptions, maxBytes: number, accept: SourceAcceptor<T>): Promise<T> {
  if (options.signal?.aborted) {
    throw aborted(typeof source === 'string' ? sourceLabel(source) : (options.bytesLabel ?? 'image bytes'), options.signal);
  }
  if (typeof source !== 'string') {
    const label = options.bytesLabel ?? 'image bytes';
    if (source.length > maxBytes) throw tooLarge(label, maxBytes, source.length);
    return accept(source, label, 'bytes');
  }
  if (source === STDIN_SOURCE) return readStdin(options, maxBytes, accept);
  if (source.trim() === '') throw new SmolVLMError('USAGE', 'empty image argument: give a path, a URL, a data: URI or "-" for stdin');
  if (/^data:/i.test(source)) return readDataUri(source, maxBytes, accept);
  if (/^https?:\/\//i.test(source)) return download(source, options, maxBytes, accept);
  if (!isFileUrl(source) && /^[a-z][a-z0-9+.-]+:\/\//i.test(source)) {
    const scheme = source.slice(0, source.indexOf(':'));
    throw new SmolVLMError('USAGE', `unsupported URL scheme "${scheme}:" in image ${source}: use a path, http(s)://, file:// or data:`);
  }
  return readLocalFile(source, options, maxBytes, accept);
}

/**
 * Remote captioning: each image goes to an OpenAI-compatible `POST /v1/chat/completions` (vLLM,
 * llama.cpp's server, Ollama, `smolvlm serve`) as a data URL, with the run's prompt and settings.
 * Plain fetch, no SDK: one request shape is all this needs. Requests that meet a 429, a 408, a 5xx,
 * a dropped connection or the per-request timeout are retried with backoff; answers that would fail
 * every image the same way (401, 403, 404) stop the run.
 */
import { SmolVLMError } from '../errors.js';
import type { ImageFormat } from '../image/sniff.js';
import { settingsToSnakeCase, type GenerationSettings } from '../settings.js';
import { backoffDelay, DEFAULT_MAX_RETRY_AFTER_MS, parseRetryAfter, sleep, type BackoffOptions } from './retry.js';
import { parseCompletion, serverMessage } from './completion.js';
import { DEFAULT_REMOTE_CONCURRENCY, DEFAULT_REMOTE_RETRIES, DEFAULT_REMOTE_TIMEOUT_MS } from './defaults.js';
import type { CaptionOutput, CaptionRequest, Captioner } from './types.js';

export interface RemoteCaptionerOptions {
  /** The server: `http://host:8000`, `http://host:8000/v1` or the full `…/v1/chat/completions`. */
  url: string;
  /** The `model` sent with each request (the server's name for it); also names the model in records. */
  model: string;
  /** A system message before each image, as `describe --system`. */
  system?: string;
  /** Sent as `Authorization: Bearer …`; default: the OPENAI_API_KEY environment variable, else none. */
  apiKey?: string;
  /** Where OPENAI_API_KEY is read from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Per attempt, from sending to the whole answer (default 120 s). */
  timeoutMs?: number;
  /** Further attempts after the first fails in a retryable way (default 5). */
  retries?: number;
  backoff?: BackoffOptions;
  /** fetch implementation (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Told before each wait for a retry (for a "server busy, retrying" line). */
  onRetry?: (event: RemoteRetry) => void;
}

export interface RemoteRetry {
  /** The image being captioned. */
  path: string;
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  /** Why the attempt failed, in words (`429 Too Many Requests: …`, `no answer within 120 s`). */
  reason: string;
}

export { DEFAULT_REMOTE_CONCURRENCY, DEFAULT_REMOTE_RETRIES, DEFAULT_REMOTE_TIMEOUT_MS } from './defaults.js';

const MEDIA_TYPES: Readonly<Record<ImageFormat, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  heif: 'image/heif',
  tiff: 'image/tiff',
  bmp: 'image/bmp',
};

/** Settings a server cannot be sent: the image processing of a local model. */
const LOCAL_ONLY_SETTINGS = ['split', 'image_size'];

/** `http://host:8000` and `http://host:8000/v1` (trailing slashes or not) -> `http://host:8000/v1/chat/completions`. */
export function chatCompletionsUrl(base: string): string {
  let url: URL;
  try {
    url = new URL(base.trim());
  } catch {
    throw new SmolVLMError('USAGE', `remote URL must be an http(s) URL such as http://host:8000, got ${JSON.stringify(base)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SmolVLMError('USAGE', `remote URL must start with http:// or https://, got ${JSON.stringify(base)}`);
  }
  let pathname = url.pathname.replace(/\/+$/, '');
  if (!pathname.endsWith('/chat/completions')) pathname += pathname.endsWith('/v1') ? '/chat/completions' : '/v1/chat/completions';
  url.pathname = pathname;
  url.hash = '';
  return url.href;
}

/**
 * The request body: the system message if any, then the image and the prompt in one user message (as
 * `describe` asks a local model); the settings by their snake_case names.
 */
export function chatRequestBody(model: string, request: Pick<CaptionRequest, 'image' | 'prompt' | 'settings'>, system?: string): Record<string, unknown> {
  const settings = settingsToSnakeCase(request.settings as GenerationSettings);
  const localOnly = LOCAL_ONLY_SETTINGS.filter((name) => settings[name] !== undefined);
  if (localOnly.length > 0) {
    throw new SmolVLMError('USAGE', `${localOnly.join(' and ')} apply to a local model only; a remote server uses its own image settings`);
  }
  const dataUrl = `data:${MEDIA_TYPES[request.image.format]};base64,${Buffer.from(request.image.bytes).toString('base64')}`;
  return {
    model,
    messages: [
      ...(system === undefined ? [] : [{ role: 'system', content: system }]),
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: dataUrl } },
          { type: 'text', text: request.prompt },
        ],
      },
    ],
    ...settings,
  };
}

type Attempt = { output: CaptionOutput } | { retry: string; retryAfterMs?: number };

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** An OpenAI-compatible server as a Captioner. */
export class RemoteCaptioner implements Captioner {
  readonly model: string;
  readonly concurrency: number;
  readonly url: string;
  readonly #options: RemoteCaptionerOptions;
  readonly #apiKey: string | undefined;

  constructor(options: RemoteCaptionerOptions) {
    this.url = chatCompletionsUrl(options.url);
    if (options.model.trim() === '') throw new SmolVLMError('USAGE', 'the remote model name must not be empty');
    this.model = options.model;
    this.concurrency = options.concurrency ?? DEFAULT_REMOTE_CONCURRENCY;
    if (!Number.isSafeInteger(this.concurrency) || this.concurrency < 1) throw new SmolVLMError('USAGE', `concurrency must be an integer >= 1, got ${this.concurrency}`);
    const retries = options.retries ?? DEFAULT_REMOTE_RETRIES;
    if (!Number.isSafeInteger(retries) || retries < 0) throw new SmolVLMError('USAGE', `retries must be an integer >= 0, got ${retries}`);
    const timeoutMs = options.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new SmolVLMError('USAGE', `the request timeout must be > 0 ms, got ${timeoutMs}`);
    this.#options = options;
    const key = options.apiKey ?? (options.env ?? process.env).OPENAI_API_KEY;
    this.#apiKey = key === undefined || key === '' ? undefined : key;
  }

  async caption(request: CaptionRequest): Promise<CaptionOutput> {
    const body = JSON.stringify(chatRequestBody(this.model, request, this.#options.system));
    const retries = this.#options.retries ?? DEFAULT_REMOTE_RETRIES;
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#attempt(body, request.signal);
      if ('output' in outcome) {
        const totalMs = performance.now() - started;
        return { ...outcome.output, timings: { totalMs }, data: attempt > 0 ? { attempts: attempt + 1 } : undefined };
      }
      if (attempt >= retries) {
        throw new SmolVLMError('NETWORK', `${this.url}: ${outcome.retry} (gave up after ${attempt + 1} attempt${attempt === 0 ? '' : 's'})`);
      }
      const backoff = backoffDelay(attempt, this.#options.backoff);
      const maxRetryAfter = this.#options.backoff?.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
      const delayMs = outcome.retryAfterMs === undefined ? backoff : Math.min(outcome.retryAfterMs, maxRetryAfter);
      this.#options.onRetry?.({ path: request.image.path, retry: attempt + 1, delayMs, reason: outcome.retry });
      await sleep(delayMs, request.signal, `captioning ${request.image.path}`);
    }
  }

  /** One request: a caption, a reason to retry, or a thrown error that retrying cannot cure. */
  async #attempt(body: string, signal: AbortSignal): Promise<Attempt> {
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.#apiKey !== undefined) headers.authorization = `Bearer ${this.#apiKey}`;
    let response: Response;
    let text: string;
    try {
      response = await (this.#options.fetch ?? fetch)(this.url, { method: 'POST', headers, body, signal: AbortSignal.any([signal, timeout]) });
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw new SmolVLMError('ABORTED', 'captioning was cancelled');
      if (timeout.aborted) return { retry: `no answer within ${timeoutMs / 1000} s` };
      return { retry: `cannot reach the server (${networkReason(error)})` };
    }
    if (response.ok) return { output: parseCompletion(text, this.url) };
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    const why = `${status}: ${serverMessage(text)}`;
    if (response.status === 429 || response.status === 408 || response.status >= 500) {
      return { retry: why, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) };
    }
    if (response.status === 401 || response.status === 403) {
      throw new SmolVLMError('USAGE', `${this.url} refused the request (${why}): check the API key`);
    }
    if (response.status === 404) {
      throw new SmolVLMError('USAGE', `${this.url} answered ${why}: check the URL and the model name ${JSON.stringify(this.model)}`);
    }
    throw new SmolVLMError('NETWORK', `${this.url} answered ${why}`);
  }
}

/** An OpenAI-compatible server as a Captioner (see RemoteCaptionerOptions). */
export function createRemoteCaptioner(options: RemoteCaptionerOptions): RemoteCaptioner {
  return new RemoteCaptioner(options);
}

/**
 * `smolvlm serve`'s server: an OpenAI-compatible chat completions API on node:http, for one loaded
 * model. Routes: POST /v1/chat/completions, GET /v1/models, GET /health (open without the API key).
 * Requests beyond `parallel + queue` get a 503 with Retry-After; a client that disconnects aborts
 * its generation at once; close() stops accepting, lets in-flight requests finish for a grace
 * period, then aborts them. No request can crash the server: every failure becomes an answer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SmolVLMError } from '../errors.js';
import type { SmolVLM } from '../model.js';
import { bearerMatches } from './auth.js';
import { PromptCachePool, type CachePoolOptions } from './cache-pool.js';
import { ChatCompletions, type ServerDefaults, type ServerImageSource } from './completions.js';
import { SequentialEngine, type GenerationEngine } from './engine.js';
import { ApiError, toApiError } from './errors.js';
import { findRoute, sendJson, type RequestContext, type RequestLogFields, type Route } from './http.js';
import { imageUrlPolicy } from './image-policy.js';
import { modelsJson } from './shapes.js';
import { DEFAULT_HOST, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, DEFAULT_QUEUE, DEFAULT_SHUTDOWN_GRACE_MS } from './defaults.js';

export { DEFAULT_HOST, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, DEFAULT_QUEUE, DEFAULT_SHUTDOWN_GRACE_MS } from './defaults.js';

/** The abort reason of a request whose client closed the connection. */
const CLIENT_GONE = new Error('the client closed the connection');

export interface ServerOptions {
  model: SmolVLM;
  /** The model's name in /v1/models and in every answer. */
  modelName: string;
  /** What generates (default: a SequentialEngine on the model). */
  engine?: GenerationEngine;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 8080; 0 picks a free one, see `url`). */
  port?: number;
  /** When set, every endpoint but /health needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Requests the engine runs together (what it was made for; /health reports it). Default 1. */
  parallel?: number;
  /** Requests that may wait beyond `parallel`; more are refused with a 503 (default 16). */
  queue?: number;
  /** Largest request body (default 20 MiB); larger ones get a 413. */
  maxBodyBytes?: number;
  /** An origin (or `*`) allowed to call the API from a browser; CORS is off without it. */
  cors?: string;
  /** Fetch http(s) image URLs even when bound to a non-loopback address. */
  allowImageUrls?: boolean;
  /** Settings and system message for what a request does not set. */
  defaults?: ServerDefaults;
  /** Limits on images read from URLs (timeout, size cap). */
  imageSource?: ServerImageSource;
  /** How many prompt caches to keep, in how much memory. */
  caches?: CachePoolOptions;
  /** How long close() lets in-flight requests finish before aborting them (default 5000 ms). */
  shutdownGraceMs?: number;
  /** Called once per request when it has been answered. */
  onRequest?: (entry: RequestLog) => void;
}

/** One request, as the server's log line reports it (the prompt text only for whoever asks for it). */
export interface RequestLog extends RequestLogFields {
  method: string;
  path: string;
  /** The status sent; 499 when the client left before an answer was sent. */
  status: number;
  ms: number;
  /** The client closed the connection before the answer was complete. */
  aborted: boolean;
}

/** GET /health. */
export interface HealthJson {
  status: 'ok' | 'stopping';
  model: string;
  /** Requests being generated. */
  active: number;
  /** Admitted requests not generating yet (reading images, in the engine's queue). */
  waiting: number;
  parallel: number;
  queue: number;
}

export class SmolVLMServer {
  readonly engine: GenerationEngine;
  readonly pool: PromptCachePool;
  /** Resolves once close() has finished. */
  readonly closed: Promise<void>;
  readonly #options: ServerOptions;
  readonly #http: Server;
  readonly #routes: Route[];
  /** In-flight requests: what aborts each, by the promise that settles when it is answered. */
  readonly #inFlight = new Map<Promise<void>, AbortController>();
  #admitted = 0;
  #closing: Promise<void> | undefined;
  #markClosed: () => void = () => {};

  private constructor(options: ServerOptions) {
    this.#options = options;
    this.engine = options.engine ?? new SequentialEngine(options.model);
    this.pool = new PromptCachePool(options.caches);
    this.closed = new Promise((resolve) => (this.#markClosed = resolve));
    const created = Math.floor(Date.now() / 1000);
    const completions = new ChatCompletions({
      model: options.model,
      modelName: options.modelName,
      engine: this.engine,
      pool: this.pool,
      policy: imageUrlPolicy(this.host, options.allowImageUrls),
      defaults: options.defaults ?? {},
      imageSource: options.imageSource ?? {},
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      admit: () => this.#admit(),
    });
    this.#routes = [
      { method: 'GET', path: '/health', open: true, handler: async (ctx) => sendJson(ctx, 200, this.health()) },
      { method: 'GET', path: '/v1/models', handler: async (ctx) => sendJson(ctx, 200, modelsJson(options.modelName, created)) },
      { method: 'POST', path: '/v1/chat/completions', handler: (ctx) => completions.handle(ctx) },
    ];
    this.#http = createServer((req, res) => this.#serve(req, res));
    this.#http.on('clientError', (_error, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Starts a server and resolves once it listens; a port in use or an address not on this machine is a NETWORK error. */
  static async start(options: ServerOptions): Promise<SmolVLMServer> {
    const server = new SmolVLMServer(options);
    await server.#listen();
    return server;
  }

  get host(): string {
    return this.#options.host ?? DEFAULT_HOST;
  }

  /** The address and port listened on (the real port when 0 was asked for). */
  get address(): AddressInfo {
    return this.#http.address() as AddressInfo;
  }

  /** `http://host:port`, for clients' base URL (add `/v1`). */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.address.port}`;
  }

  /**
   * Adds a route after the API's (which keep precedence on their paths). The chat page (issue 16)
   * is one line: `server.addRoute({ method: 'GET', path: (p) => !p.startsWith('/v1/'), open: true, handler: staticFiles(dir) })`.
   */
  addRoute(route: Route): void {
    this.#routes.push(route);
  }

  health(): HealthJson {
    const active = this.engine.active;
    return {
      status: this.#closing ? 'stopping' : 'ok',
      model: this.#options.modelName,
      active,
      waiting: Math.max(0, this.#admitted - active),
      parallel: this.#options.parallel ?? 1,
      queue: this.#options.queue ?? DEFAULT_QUEUE,
    };
  }

  /**
   * Stops accepting connections, lets in-flight requests finish for `graceMs`, then aborts them
   * (streams end with what was generated) and closes every connection. Calling it again while it
   * runs returns the same promise.
   */
  close(graceMs = this.#options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS): Promise<void> {
    this.#closing ??= (async () => {
      this.#http.close();
      this.#http.closeIdleConnections();
      const pending = [...this.#inFlight.keys()];
      if (pending.length > 0) {
        const timer = setTimeout(() => this.abortAll(), graceMs);
        await Promise.allSettled(pending);
        clearTimeout(timer);
      }
      this.#http.closeAllConnections();
      this.engine.close();
      this.#markClosed();
    })();
    return this.#closing;
  }

  /** Aborts every in-flight request now (a second Ctrl+C). */
  abortAll(): void {
    for (const controller of this.#inFlight.values()) controller.abort(new Error('the server is shutting down'));
  }

  #listen(): Promise<void> {
    const port = this.#options.port ?? DEFAULT_PORT;
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        const reason = LISTEN_ERRORS[error.code ?? ''] ?? error.message;
        reject(new SmolVLMError('NETWORK', `cannot listen on ${this.host}:${port}: ${reason}`, { cause: error }));
      };
      this.#http.once('error', onError);
      this.#http.listen(port, this.host, () => {
        this.#http.off('error', onError);
        resolve();
      });
    });
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const controller = new AbortController();
    const ctx: RequestContext = { req, res, path: pathOf(req.url), signal: controller.signal, log: {}, headers: this.#corsHeaders() };
    // A connection reset surfaces as 'close' below; as an 'error' without a listener it would end the process.
    req.on('error', () => {});
    res.on('error', () => {});
    // A client that goes away aborts its request at once (its generation stops at the next token).
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(CLIENT_GONE);
    });
    const answered = this.#dispatch(ctx)
      .catch((error: unknown) => this.#fail(ctx, error))
      .finally(() => {
        this.#inFlight.delete(answered);
        this.#log(ctx, started);
      });
    this.#inFlight.set(answered, controller);
  }

  async #dispatch(ctx: RequestContext): Promise<void> {
    const { req } = ctx;
    if (this.#closing) throw new ApiError(503, 'the server is shutting down', null, 'shutting_down', { connection: 'close' });
    if (req.method === 'OPTIONS' && this.#options.cors !== undefined) return this.#preflight(ctx);
    const route = findRoute(this.#routes, req.method ?? '', ctx.path);
    const key = this.#options.apiKey;
    if (key !== undefined && !route.open && !bearerMatches(req.headers.authorization, key)) {
      throw new ApiError(401, 'a valid API key is required: send the header "Authorization: Bearer <key>"', null, 'invalid_api_key', { 'www-authenticate': 'Bearer' });
    }
    await route.handler(ctx);
  }

  #fail(ctx: RequestContext, error: unknown): void {
    // Nobody is there to read an answer.
    if (ctx.signal.reason === CLIENT_GONE) return;
    const stopped = ctx.signal.aborted && this.#closing !== undefined;
    const apiError = stopped ? new ApiError(503, 'the server is shutting down', null, 'shutting_down', { connection: 'close' }) : toApiError(error);
    ctx.log.error = apiError.message;
    if (ctx.res.headersSent) ctx.res.destroy();
    else sendJson(ctx, apiError.status, apiError.body(), apiError.headers);
  }

  #admit(): () => void {
    const limit = (this.#options.parallel ?? 1) + (this.#options.queue ?? DEFAULT_QUEUE);
    if (this.#admitted >= limit) {
      throw new ApiError(503, `the server is busy: ${this.#admitted} requests are running or waiting, as many as it takes; try again shortly`, null, 'server_busy', { 'retry-after': '1' });
    }
    this.#admitted++;
    let left = false;
    return () => {
      if (!left) this.#admitted--;
      left = true;
    };
  }

  #corsHeaders(): Record<string, string> {
    const origin = this.#options.cors;
    if (origin === undefined) return {};
    return origin === '*' ? { 'access-control-allow-origin': '*' } : { 'access-control-allow-origin': origin, vary: 'origin' };
  }

  #preflight(ctx: RequestContext): void {
    const requested = ctx.req.headers['access-control-request-headers'];
    ctx.res.writeHead(204, {
      ...ctx.headers,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': typeof requested === 'string' ? requested : 'authorization, content-type',
      'access-control-max-age': '600',
    });
    ctx.res.end();
  }

  #log(ctx: RequestContext, started: number): void {
    const { req, res } = ctx;
    const aborted = !res.writableFinished;
    const status = aborted && !res.headersSent ? 499 : res.statusCode;
    this.#options.onRequest?.({ method: req.method ?? '', path: ctx.path, status, ms: Math.round(performance.now() - started), aborted, ...ctx.log });
  }
}

/** Starts a server (see SmolVLMServer.start). */
export function startServer(options: ServerOptions): Promise<SmolVLMServer> {
  return SmolVLMServer.start(options);
}

const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'that address is not on this machine',
  ENOTFOUND: 'no such host',
};

function pathOf(url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return '/';
  }
}

/**
 * The small HTTP layer under the server, on node:http: routes, request bodies with a size cap, JSON
 * answers. No framework: three JSON routes and a stream need nothing a framework adds, and
 * node:http lets a client's disconnect reach the generation directly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { cancelledError } from '../errors.js';
import { formatBytes } from '../format.js';
import { ApiError, invalidField } from './errors.js';

/** What one request's log line reports; handlers fill in what they know. */
export interface RequestLogFields {
  promptTokens?: number;
  cachedTokens?: number;
  completionTokens?: number;
  /** The text of the last user message (shown only when the operator asks for it). */
  prompt?: string;
  /** The error message of a 4xx or 5xx answer. */
  error?: string;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly path: string;
  /** Aborted when the client goes away before the response is complete, or when the server stops. */
  readonly signal: AbortSignal;
  readonly log: RequestLogFields;
  /** Headers every response carries (CORS). */
  readonly headers: Readonly<Record<string, string>>;
}

export type Handler = (ctx: RequestContext) => Promise<void>;

export interface Route {
  readonly method: 'GET' | 'POST';
  /** An exact path, or a test for paths (a static-file handler takes what the API does not). */
  readonly path: string | ((path: string) => boolean);
  /** Served without the API key (the health check). */
  readonly open?: boolean;
  readonly handler: Handler;
}

/** The route for `method` and `path`; a 404 when no route has the path, a 405 (with Allow) when none has the method. */
export function findRoute(routes: readonly Route[], method: string, path: string): Route {
  const matching = routes.filter((r) => (typeof r.path === 'string' ? r.path === path : r.path(path)));
  if (matching.length === 0) throw new ApiError(404, `no such endpoint: ${path}`, null, 'not_found');
  const route = matching.find((r) => r.method === method);
  if (route) return route;
  const allowed = [...new Set(matching.map((r) => r.method))].join(', ');
  throw new ApiError(405, `${method} is not allowed on ${path} (allowed: ${allowed})`, null, 'method_not_allowed', { allow: allowed });
}

export function sendJson(ctx: Pick<RequestContext, 'res' | 'headers'>, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const { res } = ctx;
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...ctx.headers, ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/**
 * Reads the request body, at most `maxBytes`. A larger body is a 413 (said by its Content-Length
 * before anything is read, else when the limit is passed); the rest of it is drained so that the
 * client reads the answer instead of a reset connection.
 */
export function readBody(req: IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  const tooLarge = () => new ApiError(413, `the request body is larger than the ${formatBytes(maxBytes)} limit (--max-body)`, null, 'request_too_large', { connection: 'close' });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const stop = (error: unknown) => {
      req.off('data', onData);
      req.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total <= maxBytes) return void chunks.push(chunk);
      req.resume();
      stop(tooLarge());
    };
    const onEnd = () => {
      signal.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks, total));
    };
    // The client left (or the server is stopping) before sending the whole body.
    const onAbort = () => stop(cancelledError('reading the request', signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', stop);
  });
}

/** The body as JSON; malformed JSON is a 400 saying where. */
export function parseJsonBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw invalidField(null, 'the request body is empty: send a JSON object', 'invalid_json');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw invalidField(null, `the request body is not valid JSON: ${(error as Error).message}`, 'invalid_json');
  }
}

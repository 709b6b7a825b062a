/**
 * The chat page of `smolvlm serve` (issue 16): the static files of the package's `ui/` folder at `/`,
 * and `/ui/config`, what the page needs to know before its first request (the model's longest image
 * edge, whether an API key is asked for). Plain files, no build step: the page works offline.
 * Every file is sent with a Content-Security-Policy that allows only the server's own origin.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageFile } from '../package-files.js';
import { ApiError } from './errors.js';
import { sendJson, type RequestContext, type Route } from './http.js';

/** The page's folder: `ui/` at the package root. */
export const CHAT_PAGE_DIR = packageFile('ui/');

/** Only the page's own origin; images may also be data: and blob: URLs (previews of attached images). */
export const CHAT_PAGE_CSP = "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CHAT_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** GET /ui/config: what the page reads first. */
export interface ChatPageConfig {
  model: string;
  /** The model's longest image edge: the page resizes images to it before sending them. */
  longest_edge: number;
  /** Requests need `Authorization: Bearer <key>`: the page asks for the key. */
  api_key_required: boolean;
  /** `response_format` is accepted (not yet: the page shows no JSON schema field). */
  response_format: boolean;
}

export interface ChatPageOptions {
  config: ChatPageConfig;
  /** The folder served (default CHAT_PAGE_DIR). */
  dir?: string;
}

/** The page's routes, for SmolVLMServer.addRoute: every GET outside /v1/ (the API keeps its paths). */
export function chatPageRoutes(options: ChatPageOptions): Route[] {
  const dir = options.dir ?? CHAT_PAGE_DIR;
  return [
    { method: 'GET', path: '/ui/config', open: true, handler: async (ctx) => sendJson(ctx, 200, options.config, SECURITY_HEADERS) },
    { method: 'GET', path: (p) => !p.startsWith('/v1/'), open: true, handler: (ctx) => sendStatic(ctx, dir) },
  ];
}

/** The file of `ctx.path` under `dir` (`/` is index.html); a 404 for anything else, never a file outside `dir`. */
async function sendStatic(ctx: RequestContext, dir: string): Promise<void> {
  const file = staticFile(dir, ctx.path);
  const type = file === undefined ? undefined : CONTENT_TYPES[path.extname(file)];
  if (file === undefined || type === undefined) throw notFound(ctx.path);
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    throw notFound(ctx.path);
  }
  if (ctx.res.headersSent || ctx.res.destroyed) return;
  ctx.res.writeHead(200, { ...ctx.headers, ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(body.length) });
  ctx.res.end(body);
}

/** The path of a file directly in `dir` (the page has no subfolders), or undefined. */
export function staticFile(dir: string, urlPath: string): string | undefined {
  const name = urlPath === '/' ? 'index.html' : urlPath.slice(1);
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name) || name.includes('..')) return undefined;
  return path.join(dir, name);
}

function notFound(urlPath: string): ApiError {
  return new ApiError(404, `no such endpoint or page file: ${urlPath}`, null, 'not_found');
}

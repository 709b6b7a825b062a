/**
 * A Hugging Face Hub look-alike on 127.0.0.1 for the hub tests: `resolve` HEAD/GET (302 to a "CDN" on a second
 * port for LFS files, 200 with the git-sha1 ETag for small ones), the tree API (paged if asked), Range requests, a request log
 * and fault injection. The CDN is another origin on purpose: the token must never reach it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface FakeRepo {
  id: string;
  /** 40-hex commit of `main` (default: derived from the id). */
  commit?: string;
  /** Extra branches/tags: name -> commit. Each commit may have its own files via `filesAt`. */
  branches?: Record<string, string>;
  files: Record<string, Buffer>;
  /** Files of other commits (default: the same files). */
  filesAt?: Record<string, Record<string, Buffer>>;
  /** Hub routes require `Authorization: Bearer <token>`. */
  token?: string;
  /** X-Error-Code sent with the 401 of a token-protected repo (default GatedRepo). */
  authErrorCode?: string;
}

export interface FakeHubOptions {
  repos: FakeRepo[];
  /** Serve the tree API (default true). */
  treeApi?: boolean;
  /** Entries per page of the tree API; more pages are linked with `Link: <...>; rel="next"` (default: one page). */
  treePageSize?: number;
  /** old repo id -> new repo id, answered with a relative 307 like a renamed repo. */
  renamed?: Record<string, string>;
  /** Small files answer with a relative 307 to `/api/resolve-cache/...` pinned to the commit, as huggingface.co does. */
  resolveCache?: boolean;
}

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  /** Repo file the request was about, when there is one. */
  file?: string;
  range?: string;
  authorization?: string;
  status: number;
  /** Body bytes written. */
  bytes: number;
}

export interface Faults {
  /** file -> the next `times` content GETs send `bytes` bytes and then drop the connection. */
  dropAfter: Map<string, { bytes: number; times: number }>;
  /** file (or '*') -> the next `times` requests about it (hub and CDN) answer `status`. */
  fail: Map<string, { status: number; times: number }>;
  /** file -> the next `times` content GETs send `bytes` bytes and then hang without closing. */
  stallAfter: Map<string, { bytes: number; times: number }>;
  /** files served with flipped bytes (headers unchanged). */
  corrupt: Set<string>;
  /** files whose Range header is ignored (200 with the whole body). */
  ignoreRange: Set<string>;
  /** Send bodies in chunks of `chunk` bytes every `intervalMs` (all files, or only `files`). */
  trickle?: { chunk: number; intervalMs: number; files?: Set<string> };
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function gitBlobSha1(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

export function fakeCommit(seed: string): string {
  return createHash('sha1').update(`commit ${seed}`).digest('hex');
}

/** Deterministic pseudo-random bytes (xorshift32 seeded from the name). */
export function deterministicBytes(name: string, size: number): Buffer {
  let x = createHash('sha256').update(name).digest().readUInt32LE(0) || 1;
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const n = Math.min(4, size - i);
    for (let k = 0; k < n; k++) out[i + k] = (x >>> (8 * k)) & 0xff;
  }
  return out;
}

const SUFFIX: Record<string, string> = { fp32: '', fp16: '_fp16', q4: '_q4', q4f16: '_q4f16', int8: '_int8', uint8: '_uint8', q8: '_quantized', bnb4: '_bnb4' };

/**
 * Files of a SmolVLM-like repo: the JSON files, and `onnx/{session}{suffix}.onnx` for each dtype (`onnxSize` bytes,
 * default 96 KiB) plus `dataParts` (`"decoder_model_merged": 2` adds `.onnx_data` and `.onnx_data_1` for fp32).
 */
export function smolvlmRepoFiles(opts: { dtypes?: string[]; onnxSize?: number; dataParts?: Record<string, number>; chatTemplate?: boolean; salt?: string } = {}): Record<string, Buffer> {
  const salt = opts.salt ?? '';
  const files: Record<string, Buffer> = {};
  const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v, null, 2));
  files['config.json'] = json({ model_type: 'idefics3', salt });
  files['generation_config.json'] = json({ bos_token_id: 1, eos_token_id: 2 });
  files['preprocessor_config.json'] = json({ image_processor_type: 'Idefics3ImageProcessor', size: { longest_edge: 2048 } });
  files['processor_config.json'] = json({ image_seq_len: 64, processor_class: 'Idefics3Processor' });
  files['tokenizer.json'] = deterministicBytes(`tokenizer${salt}`, 20_000);
  files['tokenizer_config.json'] = json({ model_max_length: 8192 });
  if (opts.chatTemplate ?? true) files['chat_template.json'] = json({ chat_template: '{{ messages }}' });
  for (const dtype of opts.dtypes ?? ['fp32', 'q4']) {
    for (const session of ['vision_encoder', 'embed_tokens', 'decoder_model_merged']) {
      const name = `onnx/${session}${SUFFIX[dtype] ?? `_${dtype}`}.onnx`;
      files[name] = deterministicBytes(name + salt, opts.onnxSize ?? 96 * 1024);
    }
  }
  for (const [session, parts] of Object.entries(opts.dataParts ?? {})) {
    for (let i = 0; i < parts; i++) {
      const name = `onnx/${session}.onnx_data${i === 0 ? '' : `_${i}`}`;
      files[name] = deterministicBytes(name + salt, 64 * 1024);
    }
  }
  return files;
}

/** The files of a model directory as repo files (`onnx/x.onnx` keys), e.g. to serve a generated fixture model. */
export function repoFilesFromDir(dir: string, opts: { exclude?: (file: string) => boolean } = {}): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const file = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(file);
      else if (e.isFile() && !opts.exclude?.(file)) files[file] = readFileSync(path.join(dir, file));
    }
  };
  walk('');
  return files;
}

function isLfs(file: string): boolean {
  return file.startsWith('onnx/');
}

export class FakeHub {
  readonly log: LoggedRequest[] = [];
  readonly faults: Faults = { dropAfter: new Map(), stallAfter: new Map(), fail: new Map(), corrupt: new Set(), ignoreRange: new Set() };
  url = '';
  cdnUrl = '';
  private readonly hub: http.Server;
  private readonly cdn: http.Server;

  private constructor(readonly options: FakeHubOptions) {
    this.hub = http.createServer((req, res) => this.onHub(req, res));
    this.cdn = http.createServer((req, res) => this.onCdn(req, res));
  }

  static async start(options: FakeHubOptions): Promise<FakeHub> {
    const hub = new FakeHub(options);
    const listen = (s: http.Server): Promise<number> =>
      new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
    hub.url = `http://127.0.0.1:${await listen(hub.hub)}`;
    hub.cdnUrl = `http://127.0.0.1:${await listen(hub.cdn)}`;
    return hub;
  }

  async close(): Promise<void> {
    for (const s of [this.hub, this.cdn]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  repo(id: string): FakeRepo | undefined {
    return this.options.repos.find((r) => r.id === id);
  }

  commitOf(repo: FakeRepo, rev = 'main'): string | undefined {
    const main = repo.commit ?? fakeCommit(repo.id);
    if (rev === 'main') return main;
    if (repo.branches?.[rev]) return repo.branches[rev];
    if (rev === main || (repo.filesAt && rev in repo.filesAt)) return rev;
    if (repo.branches && Object.values(repo.branches).includes(rev)) return rev;
    return undefined;
  }

  filesOf(repo: FakeRepo, commit: string): Record<string, Buffer> {
    return repo.filesAt?.[commit] ?? repo.files;
  }

  /** Requests about a file (content GETs only with `gets`). */
  requestsFor(file: string, opts: { method?: string; server?: 'hub' | 'cdn' } = {}): LoggedRequest[] {
    return this.log.filter((r) => r.file === file && (!opts.method || r.method === opts.method) && (!opts.server || r.server === opts.server));
  }

  /** Body bytes served for a file by GETs (hub and CDN). */
  servedBytes(file: string): number {
    return this.requestsFor(file, { method: 'GET' }).reduce((n, r) => n + r.bytes, 0);
  }

  clearLog(): void {
    this.log.length = 0;
  }

  private entry(req: http.IncomingMessage, server: 'hub' | 'cdn', file?: string): LoggedRequest {
    const e: LoggedRequest = { server, method: req.method ?? 'GET', path: req.url ?? '', status: 0, bytes: 0 };
    if (file !== undefined) e.file = file;
    if (req.headers.range) e.range = req.headers.range;
    if (req.headers.authorization) e.authorization = req.headers.authorization;
    this.log.push(e);
    return e;
  }

  private failure(file: string): number | undefined {
    for (const key of [file, '*']) {
      const f = this.faults.fail.get(key);
      if (f && f.times > 0) {
        f.times--;
        return f.status;
      }
    }
    return undefined;
  }

  private end(res: http.ServerResponse, e: LoggedRequest, status: number, headers: Record<string, string> = {}, body = ''): void {
    e.status = status;
    const buf = Buffer.from(body);
    res.writeHead(status, { 'Content-Length': String(buf.length), ...headers });
    e.bytes = buf.length;
    res.end(buf);
  }

  private authorized(repo: FakeRepo, req: http.IncomingMessage): boolean {
    return !repo.token || req.headers.authorization === `Bearer ${repo.token}`;
  }

  private onHub(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(url.pathname);
    if (tree) return this.onTree(req, res, tree[1]!, decodeURIComponent(tree[2]!), tree[3] ? decodeURIComponent(tree[3]) : '');
    const cached = /^\/api\/resolve-cache\/models\/([^/]+\/[^/]+)\/([0-9a-f]{40})\/(.+)$/.exec(url.pathname);
    if (cached) return this.onResolveCache(req, res, cached[1]!, cached[2]!, cached[3]!.split('/').map(decodeURIComponent).join('/'));
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!m) return this.end(res, this.entry(req, 'hub'), 404, { 'X-Error-Code': 'RepoNotFound' }, 'not found');
    const repoId = m[1]!;
    const rev = decodeURIComponent(m[2]!);
    const file = m[3]!.split('/').map(decodeURIComponent).join('/');
    const e = this.entry(req, 'hub', file);
    const renamed = this.options.renamed?.[repoId];
    if (renamed) return this.end(res, e, 307, { Location: `/${renamed}/resolve/${m[2]}/${m[3]}` });
    const repo = this.repo(repoId);
    if (!repo) return this.end(res, e, 404, { 'X-Error-Code': 'RepoNotFound' }, 'Repository not found');
    if (!this.authorized(repo, req)) return this.end(res, e, 401, { 'X-Error-Code': repo.authErrorCode ?? 'GatedRepo' }, 'Access restricted');
    const commit = this.commitOf(repo, rev);
    if (!commit) return this.end(res, e, 404, { 'X-Error-Code': 'RevisionNotFound' }, 'Invalid rev id');
    const failed = this.failure(file);
    if (failed) return this.end(res, e, failed, {}, 'fault');
    const content = this.filesOf(repo, commit)[file];
    if (!content) return this.end(res, e, 404, { 'X-Error-Code': 'EntryNotFound', 'X-Repo-Commit': commit }, 'Entry not found');
    if (isLfs(file)) {
      const sha = sha256Hex(content);
      const location = `${this.cdnUrl}/lfs/${sha}?file=${encodeURIComponent(file)}&sig=fake`;
      return this.end(
        res,
        e,
        302,
        {
          Location: location,
          'X-Repo-Commit': commit,
          'X-Linked-Etag': `"${sha}"`,
          'X-Linked-Size': String(content.length),
          ETag: `"${gitBlobSha1(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha}\n`))}"`,
        },
        `Found. Redirecting to ${location}`,
      );
    }
    if (this.options.resolveCache) {
      return this.end(res, e, 307, { Location: `/api/resolve-cache/models/${repoId}/${commit}/${m[3]}?etag=${gitBlobSha1(content)}` });
    }
    this.serve(req, res, e, file, content, { ETag: `W/"${gitBlobSha1(content)}"`, 'X-Repo-Commit': commit });
  }

  private onResolveCache(req: http.IncomingMessage, res: http.ServerResponse, repoId: string, commit: string, file: string): void {
    const e = this.entry(req, 'hub', file);
    const repo = this.repo(repoId);
    if (!repo) return this.end(res, e, 404, { 'X-Error-Code': 'RepoNotFound' }, 'Repository not found');
    if (!this.authorized(repo, req)) return this.end(res, e, 401, { 'X-Error-Code': repo.authErrorCode ?? 'GatedRepo' }, 'Access restricted');
    const content = this.filesOf(repo, commit)[file];
    if (!content) return this.end(res, e, 404, { 'X-Error-Code': 'EntryNotFound', 'X-Repo-Commit': commit }, 'Entry not found');
    this.serve(req, res, e, file, content, { ETag: `"${gitBlobSha1(content)}"`, 'X-Repo-Commit': commit });
  }

  private onTree(req: http.IncomingMessage, res: http.ServerResponse, repoId: string, rev: string, dir: string): void {
    const e = this.entry(req, 'hub');
    if (this.options.treeApi === false) return this.end(res, e, 404, {}, 'Not Found');
    const renamed = this.options.renamed?.[repoId];
    if (renamed) return this.end(res, e, 307, { Location: (req.url ?? '').replace(`/api/models/${repoId}/`, `/api/models/${renamed}/`) });
    const repo = this.repo(repoId);
    if (!repo) return this.end(res, e, 404, { 'X-Error-Code': 'RepoNotFound' }, '{"error":"Repository not found"}');
    if (!this.authorized(repo, req)) return this.end(res, e, 401, { 'X-Error-Code': repo.authErrorCode ?? 'GatedRepo' }, '{"error":"Access restricted"}');
    const commit = this.commitOf(repo, rev);
    if (!commit) return this.end(res, e, 404, { 'X-Error-Code': 'RevisionNotFound' }, '{"error":"Invalid rev id"}');
    const prefix = dir ? `${dir}/` : '';
    const entries = Object.entries(this.filesOf(repo, commit))
      .filter(([p]) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
      .map(([p, c]) => ({
        type: 'file',
        oid: gitBlobSha1(c),
        size: c.length,
        path: p,
        ...(isLfs(p) ? { lfs: { oid: sha256Hex(c), size: c.length, pointerSize: 134 } } : {}),
      }));
    if (entries.length === 0) return this.end(res, e, 404, { 'X-Error-Code': 'EntryNotFound', 'Content-Type': 'application/json' }, '{"error":"Entry not found"}');
    const size = this.options.treePageSize ?? entries.length;
    const url = new URL(req.url ?? '/', this.url);
    const from = Number(url.searchParams.get('cursor') ?? 0);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (from + size < entries.length) {
      url.searchParams.set('cursor', String(from + size));
      headers['Link'] = `<${url.href}>; rel="next"`;
    }
    this.end(res, e, 200, headers, JSON.stringify(entries.slice(from, from + size)));
  }

  private onCdn(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.cdnUrl);
    const file = url.searchParams.get('file') ?? '';
    const e = this.entry(req, 'cdn', file);
    const sha = /^\/lfs\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const failed = this.failure(file);
    if (failed) return this.end(res, e, failed, {}, 'fault');
    for (const repo of this.options.repos) {
      for (const files of [repo.files, ...Object.values(repo.filesAt ?? {})]) {
        const content = files[file];
        if (content && sha256Hex(content) === sha) return this.serve(req, res, e, file, content, { ETag: `"${sha}"` });
      }
    }
    this.end(res, e, 404, {}, 'no such object');
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse, e: LoggedRequest, file: string, content: Buffer, headers: Record<string, string>): void {
    let start = 0;
    let end = content.length - 1;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && !this.faults.ignoreRange.has(file)) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), end) : end;
      if (start >= content.length) return this.end(res, e, 416, { 'Content-Range': `bytes */${content.length}` });
      status = 206;
    }
    let body = content.subarray(start, end + 1);
    if (this.faults.corrupt.has(file)) {
      body = Buffer.from(body);
      for (let i = 0; i < body.length; i += 997) body[i] = (body[i] ?? 0) ^ 0xff;
    }
    e.status = status;
    res.writeHead(status, {
      ...headers,
      'Content-Length': String(body.length),
      'Accept-Ranges': 'bytes',
      ...(status === 206 ? { 'Content-Range': `bytes ${start}-${end}/${content.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    const drop = this.faults.dropAfter.get(file);
    if (drop && drop.times > 0) {
      drop.times--;
      body = body.subarray(0, Math.min(drop.bytes, body.length));
      e.bytes = body.length;
      // let the client take the bytes in before the connection dies
      res.write(body, () => setTimeout(() => res.destroy(), 30));
      return;
    }
    const stall = this.faults.stallAfter.get(file);
    if (stall && stall.times > 0) {
      stall.times--;
      body = body.subarray(0, Math.min(stall.bytes, body.length));
      e.bytes = body.length;
      res.write(body);
      return;
    }
    const trickle = this.faults.trickle;
    if (!trickle || (trickle.files && !trickle.files.has(file))) {
      e.bytes = body.length;
      res.end(body);
      return;
    }
    let pos = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      const chunk = body.subarray(pos, pos + trickle.chunk);
      pos += chunk.length;
      e.bytes += chunk.length;
      if (pos >= body.length) {
        clearInterval(timer);
        res.end(chunk);
      } else res.write(chunk);
    }, trickle.intervalMs);
    res.on('close', () => clearInterval(timer));
  }
}

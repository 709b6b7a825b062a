/*
 * What the Hub says about a repo's files: one file's metadata (HEAD on its resolve URL) and the names in the
 * `onnx/` folder (the tree API).
 */
import { SmolVLMError } from '../errors.js';
import { authHeaders, hubHttpError, requestWithRetry, resolveUrl, type HttpContext } from './http.js';
import { formatRef } from './model-reference.js';

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

function normalizeEtag(value: string | null): string | undefined {
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
export async function fetchFileMetadata(ctx: HttpContext, repo: string, revision: string, file: string): Promise<HeadResult> {
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

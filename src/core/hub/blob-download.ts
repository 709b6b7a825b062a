/*
 * Downloading one blob: resumable (Range requests from what `.incomplete` holds), verified (size and checksum
 * against the ETag) and published atomically into blobs/.
 */
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { SmolVLMError } from '../errors.js';
import type { RepoCache } from './cache-layout.js';
import {
  authHeaders,
  backoffDelay,
  classifyStreamError,
  hubHttpError,
  isRetryableStatus,
  networkError,
  sleep,
  timedFetch,
  TransientError,
  type HttpContext,
  type TimedResponse,
} from './http.js';
import type { FileMetadata } from './repo-files.js';
import { ContentVerifier } from './verify.js';

export interface BlobDownloadJob {
  cache: RepoCache;
  meta: FileMetadata;
  revision: string;
  /** Fresh download URL (a new HEAD) for when a signed CDN URL has expired. */
  refreshUrl?: () => Promise<string>;
  /** Bytes of the file on disk so far, after every chunk. */
  onBytes?: (downloaded: number, resumedFrom: number) => void;
}

export interface BlobDownloadResult {
  /** Bytes that were already in `<etag>.incomplete` when this call began. */
  resumedFrom: number;
  /** Bytes received over the network. */
  received: number;
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await fs.stat(p)).size;
  } catch {
    return 0;
  }
}

/** GET with redirects followed by hand, so that the token only reaches the endpoint's origin. */
async function getFollowingRedirects(ctx: HttpContext, url: string, range: number): Promise<TimedResponse & { url: string }> {
  let current = url;
  for (let hops = 0; ; hops++) {
    const headers: Record<string, string> = { 'Accept-Encoding': 'identity', ...authHeaders(ctx, current) };
    if (range > 0) headers['Range'] = `bytes=${range}-`;
    const timed = await timedFetch(ctx, current, { method: 'GET', headers, redirect: 'manual' }, ctx.downloadTimeoutMs);
    const location = timed.res.headers.get('location');
    if (timed.res.status >= 300 && timed.res.status < 400 && location && hops < 10) {
      timed.done();
      await timed.res.body?.cancel().catch(() => undefined);
      current = new URL(location, current).href;
      continue;
    }
    return { ...timed, url: current };
  }
}

function contentRangeStart(header: string | null): number | undefined {
  const m = header ? /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

/** One download in progress: where the bytes go, how far they got, and the URL to ask. */
interface Transfer {
  job: BlobDownloadJob;
  incomplete: string;
  verifier: ContentVerifier;
  /** Bytes in the .incomplete file. */
  offset: number;
  /** Bytes received over the network by this call. */
  received: number;
  url: string;
  /** The expired CDN URL was replaced once already. */
  refreshed: boolean;
}

/**
 * Downloads one blob into `blobs/<etag>.incomplete` (resuming what is there with a Range request), verifies size
 * and checksum, then publishes it as `blobs/<etag>` without ever replacing an existing blob.
 * The caller holds the blob's lock. A cancelled or failed download leaves the .incomplete file for the next try,
 * except after a checksum mismatch, where it is deleted.
 */
export async function downloadBlob(ctx: HttpContext, job: BlobDownloadJob): Promise<BlobDownloadResult> {
  const { cache, meta } = job;
  const incomplete = cache.incompletePath(meta.etag);
  await fs.mkdir(cache.blobsDir, { recursive: true });
  let received = 0;
  let initialResume: number | undefined;
  for (let pass = 0; ; pass++) {
    const t = await resumeTransfer(job, incomplete, received);
    const resumedFrom = t.offset;
    initialResume ??= resumedFrom;
    job.onBytes?.(t.offset, resumedFrom);
    await fetchRemainingBytes(ctx, t, resumedFrom);
    received = t.received;
    if (meta.size === 0) await fs.writeFile(incomplete, '');
    const mismatch = t.verifier.mismatch();
    if (mismatch) {
      await fs.rm(incomplete, { force: true });
      // a resumed prefix might be what is wrong: one clean retry before giving up
      if (resumedFrom > 0 && pass === 0) continue;
      throw new SmolVLMError(
        'INTEGRITY',
        `${meta.file} from ${cache.repo}: downloaded content does not match its checksum (expected ${meta.etag}, got ${mismatch}); nothing was kept, try again`,
      );
    }
    await publishBlob(incomplete, cache.blobPath(meta.etag));
    return { resumedFrom: initialResume, received };
  }
}

/** Starts from what `.incomplete` holds (hashed again for the checksum), or from zero if it is longer than the file. */
async function resumeTransfer(job: BlobDownloadJob, incomplete: string, received: number): Promise<Transfer> {
  const verifier = new ContentVerifier(job.meta.etag, job.meta.size);
  let offset = await fileSize(incomplete);
  if (offset > job.meta.size) {
    await fs.truncate(incomplete, 0);
    offset = 0;
  }
  await verifier.updateFromFile(incomplete, offset);
  return { job, incomplete, verifier, offset, received, url: job.meta.url, refreshed: false };
}

/** Requests the rest until the file is whole; transient failures are retried with backoff (the count restarts after progress). */
async function fetchRemainingBytes(ctx: HttpContext, t: Transfer, resumedFrom: number): Promise<void> {
  let failures = 0;
  while (t.offset < t.job.meta.size) {
    const before = t.received;
    try {
      await requestRemainingBytes(ctx, t, resumedFrom);
    } catch (error) {
      const e = classifyStreamError(ctx, error, undefined, t.url);
      if (!(e instanceof TransientError)) throw e;
      failures = t.received > before ? 1 : failures + 1;
      if (failures > ctx.retry.retries) throw networkError(`downloading ${t.job.meta.file}`, e, failures);
      await sleep(backoffDelay(failures - 1, ctx.retry), ctx.signal);
    }
  }
}

/** One GET from `t.offset` on, written into the .incomplete file as it arrives. */
async function requestRemainingBytes(ctx: HttpContext, t: Transfer, resumedFrom: number): Promise<void> {
  // opened before the request so that bytes arriving just before a dropped connection are read, not lost
  const fh = await fs.open(t.incomplete, t.offset === 0 ? 'w' : 'r+');
  try {
    const got = await getFollowingRedirects(ctx, t.url, t.offset);
    try {
      if (await refreshExpiredUrl(ctx, t, got)) return;
      const body = await acceptResponse(ctx, t, fh, got.res);
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        got.touch();
        if (t.offset + value.length > t.job.meta.size) {
          await reader.cancel().catch(() => undefined);
          await fh.truncate(0);
          throw new SmolVLMError('INTEGRITY', `${t.job.meta.file}: the server sent more than the announced ${t.job.meta.size} bytes`);
        }
        await fh.write(value, 0, value.length, t.offset);
        t.verifier.update(value);
        t.offset += value.length;
        t.received += value.length;
        t.job.onBytes?.(t.offset, resumedFrom);
      }
      if (t.offset < t.job.meta.size) throw new TransientError(`connection closed at byte ${t.offset} of ${t.job.meta.size}`);
    } finally {
      got.done();
    }
  } finally {
    await fh.close();
  }
}

/** A signed CDN URL that has expired (401/403 off the endpoint's origin) is replaced by a fresh one, once. */
async function refreshExpiredUrl(ctx: HttpContext, t: Transfer, got: TimedResponse & { url: string }): Promise<boolean> {
  const { status } = got.res;
  const offOrigin = new URL(got.url).origin !== new URL(ctx.endpoint).origin;
  if ((status !== 401 && status !== 403) || !offOrigin || !t.job.refreshUrl || t.refreshed) return false;
  await got.res.body?.cancel().catch(() => undefined);
  t.refreshed = true;
  t.url = await t.job.refreshUrl();
  return true;
}

/** Checks the answer to a (Range) GET and returns its body; a server that ignored the Range starts the file over. */
async function acceptResponse(ctx: HttpContext, t: Transfer, fh: FileHandle, res: Response): Promise<ReadableStream<Uint8Array>> {
  const startOver = async (): Promise<void> => {
    await fh.truncate(0);
    t.offset = 0;
    t.verifier.reset();
  };
  if (isRetryableStatus(res.status)) throw new TransientError(`HTTP ${res.status}`, res.status);
  if (res.status === 416) {
    await startOver();
    throw new TransientError('HTTP 416 (range not satisfiable); starting over', 416);
  }
  if (!res.ok) throw hubHttpError(ctx, res, { repo: t.job.cache.repo, revision: t.job.revision, file: t.job.meta.file });
  if (!res.body) throw new TransientError('empty response body');
  if (t.offset > 0 && res.status === 200) {
    // the server ignored Range: take the whole body from the start
    await startOver();
  } else if (t.offset > 0 && contentRangeStart(res.headers.get('content-range')) !== t.offset) {
    throw new TransientError(`unexpected Content-Range "${res.headers.get('content-range') ?? ''}"`);
  }
  return res.body;
}

/** `<etag>.incomplete` -> `<etag>` after an fsync; an existing blob is never replaced. */
async function publishBlob(incomplete: string, blob: string): Promise<void> {
  const fh = await fs.open(incomplete, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.link(incomplete, blob);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') {
      // file systems without hard links: rename, unless a blob appeared meanwhile
      try {
        await fs.access(blob);
      } catch {
        await fs.rename(incomplete, blob);
        return;
      }
    }
  }
  await fs.rm(incomplete, { force: true });
}

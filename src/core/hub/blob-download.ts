import { promises as fs } from 'node:fs';
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
  type FileMetadata,
  type HttpContext,
  type TimedResponse,
} from './http.js';
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
async function getFollowing(ctx: HttpContext, url: string, range: number): Promise<TimedResponse & { url: string }> {
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
    const verifier = new ContentVerifier(meta.etag, meta.size);
    let offset = await fileSize(incomplete);
    if (offset > meta.size) {
      await fs.truncate(incomplete, 0);
      offset = 0;
    }
    await verifier.updateFromFile(incomplete, offset);
    const resumedFrom = offset;
    initialResume ??= resumedFrom;
    job.onBytes?.(offset, resumedFrom);

    let url = meta.url;
    let refreshed = false;
    let failures = 0;
    while (offset < meta.size) {
      let progressed = false;
      try {
        // opened before the request so that bytes arriving just before a dropped connection are read, not lost
        const fh = await fs.open(incomplete, offset === 0 ? 'w' : 'r+');
        try {
          const got = await getFollowing(ctx, url, offset);
          const res = got.res;
          try {
            const offOrigin = new URL(got.url).origin !== new URL(ctx.endpoint).origin;
            if ((res.status === 401 || res.status === 403) && offOrigin && job.refreshUrl && !refreshed) {
              await res.body?.cancel().catch(() => undefined);
              refreshed = true;
              url = await job.refreshUrl();
              continue;
            }
            if (isRetryableStatus(res.status)) throw new TransientError(`HTTP ${res.status}`, res.status);
            if (res.status === 416) {
              await fh.truncate(0);
              offset = 0;
              verifier.reset();
              throw new TransientError('HTTP 416 (range not satisfiable); starting over', 416);
            }
            if (!res.ok) throw hubHttpError(ctx, res, { repo: cache.repo, revision: job.revision, file: meta.file });
            if (!res.body) throw new TransientError('empty response body');
            if (offset > 0 && res.status === 200) {
              // the server ignored Range: take the whole body from the start
              await fh.truncate(0);
              offset = 0;
              verifier.reset();
            } else if (offset > 0 && contentRangeStart(res.headers.get('content-range')) !== offset) {
              throw new TransientError(`unexpected Content-Range "${res.headers.get('content-range') ?? ''}"`);
            }
            const reader = res.body.getReader();
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              got.touch();
              if (offset + value.length > meta.size) {
                await reader.cancel().catch(() => undefined);
                await fh.truncate(0);
                throw new SmolVLMError('INTEGRITY', `${meta.file}: the server sent more than the announced ${meta.size} bytes`);
              }
              await fh.write(value, 0, value.length, offset);
              verifier.update(value);
              offset += value.length;
              received += value.length;
              progressed = true;
              job.onBytes?.(offset, resumedFrom);
            }
            if (offset < meta.size) throw new TransientError(`connection closed at byte ${offset} of ${meta.size}`);
          } finally {
            got.done();
          }
        } finally {
          await fh.close();
        }
      } catch (error) {
        const e = classifyStreamError(ctx, error, undefined, url);
        if (!(e instanceof TransientError)) throw e;
        failures = progressed ? 1 : failures + 1;
        if (failures > ctx.retry.retries) throw networkError(`downloading ${meta.file}`, e, failures);
        await sleep(backoffDelay(failures - 1, ctx.retry), ctx.signal);
      }
    }

    if (meta.size === 0) await fs.writeFile(incomplete, '');
    const mismatch = verifier.mismatch();
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

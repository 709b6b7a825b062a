/*
 * Fetching the files of a plan: each blob the cache lacks is downloaded under its cross-process lock (resumable
 * and verified, blob-download.ts), then every file is linked into the snapshot, with progress events throughout.
 */
import { downloadBlob } from './blob-download.js';
import { pathExists, type RepoCache } from './cache-layout.js';
import { hubHttpError, throwIfAborted, type HttpContext } from './http.js';
import { acquireLock } from './lock.js';
import type { DownloadProgress } from './options.js';
import type { DownloadPlan, FileToFetch } from './plan.js';
import { fetchFileMetadata } from './repo-files.js';
import { linkIntoSnapshot } from './snapshot.js';

export interface DownloadRequest {
  repo: string;
  revision: string;
  signal?: AbortSignal;
  onProgress?: (event: DownloadProgress) => void;
  lock?: { pollMs?: number; staleMs?: number };
}

export interface DownloadOutcome {
  /** Files linked into the snapshot, in plan order. */
  linked: string[];
  /** What this process received (files another process completed meanwhile are not counted). */
  downloaded: { files: number; bytes: number };
}

/** Progress of the blobs to download, across files. */
interface Tally {
  /** The blobs the cache lacked when the download began (progress counts these). */
  blobs: FileToFetch[];
  total: number;
  done: number;
}

type Report = (phase: DownloadProgress['phase'], downloaded: number, resumedFrom: number) => void;

/** Downloads what blobs/ lacks of `plan.missing` and links every missing file into the snapshot, in plan order. */
export async function downloadPlannedFiles(ctx: HttpContext, cache: RepoCache, req: DownloadRequest, plan: DownloadPlan): Promise<DownloadOutcome> {
  const blobs: FileToFetch[] = [];
  for (const f of plan.missing) if (!(await pathExists(cache.blobPath(f.meta.etag)))) blobs.push(f);
  const tally: Tally = { blobs, total: blobs.reduce((n, f) => n + f.meta.size, 0), done: 0 };
  const outcome: DownloadOutcome = { linked: [], downloaded: { files: 0, bytes: 0 } };
  for (const f of plan.missing) {
    throwIfAborted(req.signal);
    const index = blobs.indexOf(f);
    const report = index === -1 ? undefined : progressReporter(req, plan.commit, f, index, tally);
    const received = report ? await downloadLocked(ctx, cache, req, plan.commit, f, report) : undefined;
    if (received !== undefined) {
      outcome.downloaded.files++;
      outcome.downloaded.bytes += received;
    }
    await linkIntoSnapshot(cache, plan.commit, f.file, f.meta.etag);
    outcome.linked.push(f.file);
    if (report) {
      report(received === undefined ? 'found' : 'done', f.meta.size, 0);
      tally.done += f.meta.size;
    }
  }
  return outcome;
}

function progressReporter(req: DownloadRequest, commit: string, { file, meta }: FileToFetch, fileIndex: number, tally: Tally): Report {
  return (phase, downloaded, resumedFrom) =>
    req.onProgress?.({
      phase,
      repo: req.repo,
      revision: req.revision,
      commit,
      file,
      fileIndex,
      totalFiles: tally.blobs.length,
      downloaded,
      total: meta.size,
      resumedFrom,
      overallDownloaded: tally.done + downloaded,
      overallTotal: tally.total,
    });
}

/**
 * One blob under its lock. Returns the bytes received, or undefined when the blob was there once the lock was
 * held: another process completed it while this one waited (reported as `found`, not `done`).
 */
async function downloadLocked(ctx: HttpContext, cache: RepoCache, req: DownloadRequest, commit: string, { file, meta }: FileToFetch, report: Report): Promise<number | undefined> {
  const lock = await acquireLock(cache.lockPath(meta.etag), {
    ...(req.signal ? { signal: req.signal } : {}),
    ...req.lock,
    onWait: () => report('waiting', 0, 0),
  });
  try {
    if (await pathExists(cache.blobPath(meta.etag))) return undefined;
    const got = await downloadBlob(ctx, {
      cache,
      meta,
      revision: req.revision,
      onBytes: (downloaded, resumedFrom) => report('downloading', downloaded, resumedFrom),
      refreshUrl: async () => {
        const head = await fetchFileMetadata(ctx, req.repo, commit, file);
        if (!head.found) throw hubHttpError(ctx, head.response, { repo: req.repo, revision: req.revision, file });
        return head.meta.url;
      },
    });
    return got.received;
  } finally {
    await lock.release();
  }
}

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SmolVLMError } from '../errors.js';
import {
  hasNoExistMarker,
  isInSnapshot,
  linkIntoSnapshot,
  pathExists,
  RepoCache,
  resolveCachedRevision,
  writeNoExistMarker,
  writeRef,
} from './cache-layout.js';
import { downloadBlob } from './blob-download.js';
import { OPTIONAL_FILES, REQUIRED_FILES } from '../model-files/directory.js';
import {
  dataPartName,
  dtypesPresent,
  isDataPartOf,
  MAX_DATA_PARTS,
  onnxFileName as onnxFilePath,
  pickDtypes,
  resolveDtypes,
  SESSION_NAMES,
  sessionFiles,
  sortDataParts,
  type Dtype,
  type DtypeSpec,
  type SessionDtypes,
  type SessionName,
} from '../model-files/dtypes.js';
import { headFile, hubHttpError, listOnnxFolder, resolveUrl, throwIfAborted, type FileMetadata, type HttpContext } from './http.js';
import { acquireLock } from './lock.js';
import type { DownloadProgress } from './options.js';
import { formatRef, isCommitSha } from './model-reference.js';

export interface HubModelRequest {
  repo: string;
  revision: string;
  /** Explicit dtypes; when absent each session gets the first of `preference` the repo has. */
  dtype?: DtypeSpec | string;
  preference: readonly Dtype[];
  cacheDir: string;
  offline: boolean;
  checkForUpdates: boolean;
  /** Created only when the network is needed. */
  http: () => HttpContext;
  signal?: AbortSignal;
  onProgress?: (event: DownloadProgress) => void;
  lock?: { pollMs?: number; staleMs?: number };
  concurrency: number;
}

export interface HubModelResult {
  /** The snapshot directory (not resolved through the symlinks: external data sits next to its .onnx there). */
  dir: string;
  repo: string;
  revision: string;
  commit: string;
  /** True when no request was made. */
  fromCache: boolean;
  dtypes: SessionDtypes;
  /** Absolute snapshot paths of the three session files. */
  sessions: Record<SessionName, string>;
  /** Repo paths present in the snapshot for this request (data parts included). */
  files: string[];
  downloaded: { files: number; bytes: number };
}

interface CacheCheck {
  commit?: string;
  dtypes?: SessionDtypes;
  present: string[];
  /** Required files absent. */
  missing: string[];
  /** Optional files neither present nor known to be absent. */
  unknownOptional: string[];
}

async function presentDataParts(cache: RepoCache, commit: string, onnxFile: string): Promise<string[]> {
  const dir = path.dirname(cache.snapshotFile(commit, onnxFile));
  const base = path.posix.basename(onnxFile);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const parts = sortDataParts(names.filter((n) => isDataPartOf(n, base)));
  const present: string[] = [];
  for (const n of parts) {
    const file = `${path.posix.dirname(onnxFile)}/${n}`;
    if (await isInSnapshot(cache, commit, file)) present.push(file);
  }
  return present;
}

/** The session files present in a snapshot's onnx/ folder. */
async function snapshotOnnxFiles(cache: RepoCache, commit: string): Promise<Set<string>> {
  const present = new Set<string>();
  let names: string[] = [];
  try {
    names = await fs.readdir(path.join(cache.snapshotDir(commit), 'onnx'));
  } catch {
    // no onnx/ folder
  }
  for (const n of names) if (n.endsWith('.onnx') && (await isInSnapshot(cache, commit, `onnx/${n}`))) present.add(`onnx/${n}`);
  return present;
}

const ANY_ONNX = 'onnx/ session files (no dtype present)';

/**
 * What the cache holds for a revision. Data parts are taken as present: downloads link an .onnx only after its
 * data parts, so a linked .onnx implies its parts.
 */
async function checkCache(cache: RepoCache, revision: string, explicit: SessionDtypes | undefined, preference: readonly Dtype[]): Promise<CacheCheck> {
  const commit = await resolveCachedRevision(cache, revision);
  const onnxOf = (d: SessionDtypes): string[] => Object.values(sessionFiles(d));
  if (!commit) {
    return { present: [], missing: [...REQUIRED_FILES, ...(explicit ? onnxOf(explicit) : [ANY_ONNX])], unknownOptional: [...OPTIONAL_FILES] };
  }
  let dtypes = explicit;
  if (!dtypes) {
    const files = await snapshotOnnxFiles(cache, commit);
    dtypes = pickDtypes(preference, (s, d) => files.has(onnxFilePath(s, d)));
  }
  const check: CacheCheck = { commit, ...(dtypes ? { dtypes } : {}), present: [], missing: [], unknownOptional: [] };
  const onnx = dtypes ? onnxOf(dtypes) : [];
  if (!dtypes) check.missing.push(ANY_ONNX);
  for (const file of [...REQUIRED_FILES, ...onnx]) {
    if (await isInSnapshot(cache, commit, file)) check.present.push(file);
    else check.missing.push(file);
  }
  for (const file of OPTIONAL_FILES) {
    if (await isInSnapshot(cache, commit, file)) check.present.push(file);
    else if (!(await hasNoExistMarker(cache, commit, file))) check.unknownOptional.push(file);
  }
  for (const file of onnx) {
    if (check.present.includes(file)) check.present.push(...(await presentDataParts(cache, commit, file)));
  }
  return check;
}

function result(
  req: HubModelRequest,
  dtypes: SessionDtypes,
  cache: RepoCache,
  commit: string,
  files: string[],
  fromCache: boolean,
  downloaded: { files: number; bytes: number },
): HubModelResult {
  const dir = cache.snapshotDir(commit);
  const sessions = {} as Record<SessionName, string>;
  for (const [s, f] of Object.entries(sessionFiles(dtypes)) as [SessionName, string][]) sessions[s] = path.join(dir, ...f.split('/'));
  return { dir, repo: req.repo, revision: req.revision, commit, fromCache, dtypes, sessions, files, downloaded };
}

function offlineError(req: HubModelRequest, check: CacheCheck): SmolVLMError {
  const ref = formatRef(req.repo, req.revision);
  const how = 'offline mode is on (HF_HUB_OFFLINE=1 or the offline option); download it while online first';
  if (!check.commit) return new SmolVLMError('OFFLINE', `${ref} is not in the cache ${req.cacheDir}, and ${how}`);
  return new SmolVLMError(
    'OFFLINE',
    `the cached ${ref} (commit ${check.commit.slice(0, 12)}) lacks ${check.missing.join(', ')}, and ${how}`,
  );
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Ensures the files of `repo@revision` for the dtypes are in the cache; returns the snapshot. */
export async function ensureHubModel(req: HubModelRequest): Promise<HubModelResult> {
  const cache = new RepoCache(req.cacheDir, req.repo);
  const explicit = req.dtype === undefined ? undefined : resolveDtypes(req.dtype);
  const check = await checkCache(cache, req.revision, explicit, req.preference);
  const cached = check.commit !== undefined && check.dtypes !== undefined && check.missing.length === 0 ? { commit: check.commit, dtypes: check.dtypes } : undefined;
  const fromCache = (c: { commit: string; dtypes: SessionDtypes }): HubModelResult =>
    result(req, c.dtypes, cache, c.commit, check.present, true, { files: 0, bytes: 0 });
  if (req.offline) {
    if (!cached) throw offlineError(req, check);
    return fromCache(cached);
  }
  if (cached && !req.checkForUpdates) {
    if (check.unknownOptional.length === 0) return fromCache(cached);
    // Complete but for an optional file nobody asked about yet (a cache written by huggingface_hub without
    // chat_template.json): ask for it at the cached commit only, and whatever goes wrong, use the cache.
    try {
      return await fetchModel(req, cache, explicit, cached);
    } catch (error) {
      if (error instanceof SmolVLMError && error.code !== 'ABORTED') return fromCache(cached);
      throw error;
    }
  }
  return fetchModel(req, cache, explicit);
}

interface PlannedFile {
  file: string;
  optional: boolean;
  meta?: FileMetadata;
}

/** Without the tree API: per session, the first dtype of the preference whose file is cached or answers a HEAD. */
async function probeDtypes(
  ctx: HttpContext,
  cache: RepoCache,
  repo: string,
  commit: string,
  preference: readonly Dtype[],
  known: Map<string, FileMetadata>,
): Promise<SessionDtypes | undefined> {
  const out = {} as SessionDtypes;
  for (const session of SESSION_NAMES) {
    let found: Dtype | undefined;
    for (const d of preference) {
      const file = onnxFilePath(session, d);
      if (await isInSnapshot(cache, commit, file)) found = d;
      else {
        const head = await headFile(ctx, repo, commit, file);
        if (head.found) {
          known.set(file, head.meta);
          found = d;
        }
      }
      if (found) break;
    }
    if (!found) return undefined;
    out[session] = found;
  }
  return out;
}

/**
 * The online path: resolves the revision, picks the files, downloads what blobs/ lacks and links the snapshot.
 * `pinned` (a complete cached snapshot) skips resolving the revision and listing the repo.
 */
async function fetchModel(
  req: HubModelRequest,
  cache: RepoCache,
  explicit: SessionDtypes | undefined,
  pinned?: { commit: string; dtypes: SessionDtypes },
): Promise<HubModelResult> {
  const ctx = req.http();
  const { repo, revision } = req;
  const where = (file?: string) => ({ repo, revision, ...(file ? { file } : {}) });
  const known = new Map<string, FileMetadata>();

  let commit: string;
  if (pinned) {
    commit = pinned.commit;
  } else if (isCommitSha(revision)) {
    commit = revision;
  } else {
    const head = await headFile(ctx, repo, revision, 'config.json');
    if (!head.found) throw hubHttpError(ctx, head.response, where('config.json'));
    commit = head.meta.commit;
    // served directly (no redirect): GET it at the commit, not at a branch that may move meanwhile
    const direct = head.meta.url === resolveUrl(ctx, repo, revision, 'config.json');
    known.set('config.json', direct ? { ...head.meta, url: resolveUrl(ctx, repo, commit, 'config.json') } : head.meta);
  }

  const listing = pinned ? undefined : await listOnnxFolder(ctx, repo, commit);
  let dtypes = pinned?.dtypes ?? explicit;
  if (!dtypes && listing) dtypes = pickDtypes(req.preference, (s, d) => listing.includes(path.posix.basename(onnxFilePath(s, d))));
  if (!dtypes && !listing) dtypes = await probeDtypes(ctx, cache, repo, commit, req.preference, known);
  if (!dtypes) {
    throw new SmolVLMError('HUB_NOT_FOUND', `${formatRef(repo, revision)} has no ONNX session files of a known dtype in onnx/`);
  }
  const onnxFiles = sessionFiles(dtypes);
  const dataParts = new Map<string, string[]>();
  for (const onnx of Object.values(onnxFiles)) {
    const base = path.posix.basename(onnx);
    if (listing) {
      if (!listing.includes(base)) {
        const have = dtypesPresent(listing).complete;
        throw new SmolVLMError(
          'HUB_NOT_FOUND',
          `${onnx} not found in ${formatRef(repo, revision)}; dtypes available there: ${have.length ? have.join(', ') : 'none'}`,
        );
      }
      dataParts.set(onnx, sortDataParts(listing.filter((n) => isDataPartOf(n, base))).map((n) => `onnx/${n}`));
    } else if (await isInSnapshot(cache, commit, onnx)) {
      dataParts.set(onnx, await presentDataParts(cache, commit, onnx));
    } else {
      // no tree API on this endpoint: probe X.onnx_data, X.onnx_data_1, ... with HEAD until one is missing
      const parts: string[] = [];
      for (let i = 0; i < MAX_DATA_PARTS; i++) {
        const part = dataPartName(onnx, i);
        const head = await headFile(ctx, repo, commit, part);
        if (!head.found) break;
        known.set(part, head.meta);
        parts.push(part);
      }
      dataParts.set(onnx, parts);
    }
  }

  const plan: PlannedFile[] = [
    ...REQUIRED_FILES.map((file) => ({ file, optional: false })),
    ...OPTIONAL_FILES.map((file) => ({ file, optional: true })),
    ...Object.values(onnxFiles).flatMap((onnx) => [...(dataParts.get(onnx) ?? []), onnx].map((file) => ({ file, optional: false }))),
  ];

  const present: string[] = [];
  const todo: PlannedFile[] = [];
  for (const p of plan) {
    if (await isInSnapshot(cache, commit, p.file)) present.push(p.file);
    else if (p.optional && (await hasNoExistMarker(cache, commit, p.file))) continue;
    else todo.push(p);
  }

  await mapLimit(todo, req.concurrency, async (p) => {
    const cached = known.get(p.file);
    if (cached && cached.commit === commit) {
      p.meta = cached;
      return;
    }
    const head = await headFile(ctx, repo, commit, p.file);
    if (head.found) {
      p.meta = head.meta;
      return;
    }
    if (p.optional && (head.response.headers.get('x-error-code') ?? 'EntryNotFound') === 'EntryNotFound') {
      await writeNoExistMarker(cache, commit, p.file);
      return;
    }
    throw hubHttpError(ctx, head.response, where(p.file));
  });

  const withMeta = todo.filter((p): p is PlannedFile & { meta: FileMetadata } => p.meta !== undefined);
  const toDownload: FileMetadata[] = [];
  for (const p of withMeta) if (!(await pathExists(cache.blobPath(p.meta.etag)))) toDownload.push(p.meta);
  const overallTotal = toDownload.reduce((n, m) => n + m.size, 0);
  let overallDone = 0;
  let downloadedBytes = 0;
  let downloadedFiles = 0;

  // plan order: a session's data parts are linked before its .onnx
  for (const p of withMeta) {
    throwIfAborted(req.signal);
    const meta = p.meta;
    const index = toDownload.indexOf(meta);
    if (index === -1) {
      await linkIntoSnapshot(cache, commit, p.file, meta.etag);
      present.push(p.file);
      continue;
    }
    const progress = (phase: DownloadProgress['phase'], downloaded: number, resumedFrom: number): void =>
      req.onProgress?.({
        phase,
        repo,
        revision,
        commit,
        file: p.file,
        fileIndex: index,
        totalFiles: toDownload.length,
        downloaded,
        total: meta.size,
        resumedFrom,
        overallDownloaded: overallDone + downloaded,
        overallTotal,
      });
    const lock = await acquireLock(cache.lockPath(meta.etag), {
      ...(req.signal ? { signal: req.signal } : {}),
      ...req.lock,
      onWait: () => progress('waiting', 0, 0),
    });
    try {
      if (!(await pathExists(cache.blobPath(meta.etag)))) {
        const got = await downloadBlob(ctx, {
          cache,
          meta,
          revision,
          onBytes: (downloaded, resumedFrom) => progress('downloading', downloaded, resumedFrom),
          refreshUrl: async () => {
            const head = await headFile(ctx, repo, commit, p.file);
            if (!head.found) throw hubHttpError(ctx, head.response, where(p.file));
            return head.meta.url;
          },
        });
        downloadedBytes += got.received;
        downloadedFiles++;
      }
    } finally {
      await lock.release();
    }
    await linkIntoSnapshot(cache, commit, p.file, meta.etag);
    present.push(p.file);
    progress('done', meta.size, 0);
    overallDone += meta.size;
  }

  if (!pinned) await writeRef(cache, revision, commit);
  return result(req, dtypes, cache, commit, present, false, { files: downloadedFiles, bytes: downloadedBytes });
}

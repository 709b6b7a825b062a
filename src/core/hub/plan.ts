/*
 * Planning a download from the Hub: which commit the revision is at, which dtype each session gets, which files
 * that takes (the JSON files, each session file with its external-data parts), which of them the snapshot already
 * has, and the metadata (ETag, size, URL) of the others.
 */
import path from 'node:path';
import { SmolVLMError } from '../errors.js';
import { OPTIONAL_FILES, REQUIRED_FILES } from '../model-files/directory.js';
import {
  dataPartName,
  dtypesPresent,
  isDataPartOf,
  MAX_DATA_PARTS,
  onnxFileName,
  pickDtypes,
  SESSION_NAMES,
  sessionFiles,
  sortDataParts,
  type Dtype,
  type SessionDtypes,
} from '../model-files/dtypes.js';
import type { RepoCache } from './cache-layout.js';
import { hubHttpError, resolveUrl, type HttpContext } from './http.js';
import { formatRef, isCommitSha } from './model-reference.js';
import { fetchFileMetadata, listOnnxFolder, type FileMetadata } from './repo-files.js';
import { hasNoExistMarker, isInSnapshot, presentDataParts, writeNoExistMarker } from './snapshot.js';

export interface PlanRequest {
  repo: string;
  revision: string;
  /** Per session, the first of these the repo has, unless `dtypes` are given. */
  preference: readonly Dtype[];
  /** Parallel metadata requests. */
  concurrency: number;
}

/** A complete cached snapshot to complete (an optional file nobody asked about yet): no revision lookup, no listing. */
export interface PinnedSnapshot {
  commit: string;
  dtypes: SessionDtypes;
}

export interface FileToFetch {
  file: string;
  meta: FileMetadata;
}

export interface DownloadPlan {
  commit: string;
  dtypes: SessionDtypes;
  /** Files of the plan the snapshot has already, in plan order. */
  present: string[];
  /** Files the snapshot lacks, in plan order (a session's data parts before its .onnx, so that a linked .onnx implies its parts). */
  missing: FileToFetch[];
}

interface PlannedFile {
  file: string;
  optional: boolean;
}

/** What one planning pass shares: metadata learnt by HEAD requests along the way is not asked for twice. */
interface Planner {
  ctx: HttpContext;
  cache: RepoCache;
  req: PlanRequest;
  known: Map<string, FileMetadata>;
}

/** Resolves the revision and plans the files; `dtypes` (explicit) or `pinned` (cached) skip the dtype choice. */
export async function planDownload(
  ctx: HttpContext,
  cache: RepoCache,
  req: PlanRequest,
  dtypes: SessionDtypes | undefined,
  pinned?: PinnedSnapshot,
): Promise<DownloadPlan> {
  const planner: Planner = { ctx, cache, req, known: new Map() };
  const commit = pinned?.commit ?? (await resolveCommit(planner));
  const listing = pinned ? undefined : await listOnnxFolder(ctx, req.repo, commit);
  const chosen = pinned?.dtypes ?? dtypes ?? (await chooseDtypes(planner, commit, listing));
  const files = await filesOfModel(planner, commit, chosen, listing);
  const present: string[] = [];
  const absent: PlannedFile[] = [];
  for (const p of files) {
    if (await isInSnapshot(cache, commit, p.file)) present.push(p.file);
    else if (!(p.optional && (await hasNoExistMarker(cache, commit, p.file)))) absent.push(p);
  }
  const missing = await fetchMetadata(planner, commit, absent);
  return { commit, dtypes: chosen, present, missing };
}

/** The commit a branch or tag points at, from the HEAD of config.json (a sha is its own commit). */
async function resolveCommit({ ctx, req, known }: Planner): Promise<string> {
  const { repo, revision } = req;
  if (isCommitSha(revision)) return revision;
  const head = await fetchFileMetadata(ctx, repo, revision, 'config.json');
  if (!head.found) throw hubHttpError(ctx, head.response, { repo, revision, file: 'config.json' });
  const commit = head.meta.commit;
  // served directly (no redirect): GET it at the commit, not at a branch that may move meanwhile
  const direct = head.meta.url === resolveUrl(ctx, repo, revision, 'config.json');
  known.set('config.json', direct ? { ...head.meta, url: resolveUrl(ctx, repo, commit, 'config.json') } : head.meta);
  return commit;
}

/** Per session the first preferred dtype the repo has: from the listing, else by HEAD requests. */
async function chooseDtypes(planner: Planner, commit: string, listing: string[] | undefined): Promise<SessionDtypes> {
  const { preference, repo, revision } = planner.req;
  const dtypes = listing
    ? pickDtypes(preference, (s, d) => listing.includes(path.posix.basename(onnxFileName(s, d))))
    : await probeDtypes(planner, commit);
  if (!dtypes) throw new SmolVLMError('HUB_NOT_FOUND', `${formatRef(repo, revision)} has no ONNX session files of a known dtype in onnx/`);
  return dtypes;
}

/** Without the tree API: per session, the first dtype of the preference whose file is cached or answers a HEAD. */
async function probeDtypes({ ctx, cache, req, known }: Planner, commit: string): Promise<SessionDtypes | undefined> {
  const out = {} as SessionDtypes;
  for (const session of SESSION_NAMES) {
    let found: Dtype | undefined;
    for (const d of req.preference) {
      const file = onnxFileName(session, d);
      if (await isInSnapshot(cache, commit, file)) found = d;
      else {
        const head = await fetchFileMetadata(ctx, req.repo, commit, file);
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

/** Every file of the model for these dtypes, in download order: JSON files, then per session its data parts and its .onnx. */
async function filesOfModel(planner: Planner, commit: string, dtypes: SessionDtypes, listing: string[] | undefined): Promise<PlannedFile[]> {
  const files: PlannedFile[] = [
    ...REQUIRED_FILES.map((file) => ({ file, optional: false })),
    ...OPTIONAL_FILES.map((file) => ({ file, optional: true })),
  ];
  for (const onnx of Object.values(sessionFiles(dtypes))) {
    const parts = await dataPartsOf(planner, commit, onnx, listing);
    files.push(...[...parts, onnx].map((file) => ({ file, optional: false })));
  }
  return files;
}

/** The external-data parts of one session file: from the listing, the snapshot, or HEAD requests until one is missing. */
async function dataPartsOf({ ctx, cache, req, known }: Planner, commit: string, onnx: string, listing: string[] | undefined): Promise<string[]> {
  const base = path.posix.basename(onnx);
  if (listing) {
    if (!listing.includes(base)) {
      const have = dtypesPresent(listing).complete;
      throw new SmolVLMError(
        'HUB_NOT_FOUND',
        `${onnx} not found in ${formatRef(req.repo, req.revision)}; dtypes available there: ${have.length ? have.join(', ') : 'none'}`,
      );
    }
    return sortDataParts(listing.filter((n) => isDataPartOf(n, base))).map((n) => `onnx/${n}`);
  }
  // a linked .onnx implies its parts: downloads link the parts first
  if (await isInSnapshot(cache, commit, onnx)) return presentDataParts(cache, commit, onnx);
  const parts: string[] = [];
  for (let i = 0; i < MAX_DATA_PARTS; i++) {
    const part = dataPartName(onnx, i);
    const head = await fetchFileMetadata(ctx, req.repo, commit, part);
    if (!head.found) break;
    known.set(part, head.meta);
    parts.push(part);
  }
  return parts;
}

/**
 * The metadata of each absent file, `concurrency` requests at a time. An optional file the repo lacks gets a
 * `.no_exist` marker and leaves the plan; a required one is an error.
 */
async function fetchMetadata({ ctx, cache, req, known }: Planner, commit: string, absent: PlannedFile[]): Promise<FileToFetch[]> {
  const metas = await mapLimit(absent, req.concurrency, async (p): Promise<FileMetadata | undefined> => {
    const cached = known.get(p.file);
    if (cached && cached.commit === commit) return cached;
    const head = await fetchFileMetadata(ctx, req.repo, commit, p.file);
    if (head.found) return head.meta;
    if (p.optional && (head.response.headers.get('x-error-code') ?? 'EntryNotFound') === 'EntryNotFound') {
      await writeNoExistMarker(cache, commit, p.file);
      return undefined;
    }
    throw hubHttpError(ctx, head.response, { repo: req.repo, revision: req.revision, file: p.file });
  });
  return absent.flatMap((p, i) => {
    const meta = metas[i];
    return meta ? [{ file: p.file, meta }] : [];
  });
}

/** `fn` over `items`, at most `limit` at a time, results in order (a dozen lines: not worth a dependency). */
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

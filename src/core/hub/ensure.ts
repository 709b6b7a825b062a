/*
 * Making a Hub model present in the cache, in phases: what the cache holds for the revision (no request when it
 * is complete), else plan (plan.ts), download and link (download.ts), and record the revision's commit in refs/.
 */
import { SmolVLMError } from '../errors.js';
import { OPTIONAL_FILES, REQUIRED_FILES, sessionPaths } from '../model-files/directory.js';
import { onnxFileName, pickDtypes, resolveDtypes, sessionFiles, type Dtype, type DtypeSpec, type SessionDtypes, type SessionName } from '../model-files/dtypes.js';
import { RepoCache, resolveCachedRevision, writeRef } from './cache-layout.js';
import { downloadPlannedFiles } from './download.js';
import type { HttpContext } from './http.js';
import { formatRef } from './model-reference.js';
import type { DownloadProgress } from './options.js';
import { planDownload, type PinnedSnapshot } from './plan.js';
import { hasNoExistMarker, isInSnapshot, presentDataParts, snapshotOnnxFiles } from './snapshot.js';

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

/** Ensures the files of `repo@revision` for the dtypes are in the cache; returns the snapshot. */
export async function ensureHubModel(req: HubModelRequest): Promise<HubModelResult> {
  const cache = new RepoCache(req.cacheDir, req.repo);
  const explicit = req.dtype === undefined ? undefined : resolveDtypes(req.dtype);
  const check = await checkCache(cache, req.revision, explicit, req.preference);
  const cached = check.commit !== undefined && check.dtypes !== undefined && check.missing.length === 0 ? { commit: check.commit, dtypes: check.dtypes } : undefined;
  const fromCache = (c: PinnedSnapshot): HubModelResult => hubModelResult(req, cache, c, check.present, true, { files: 0, bytes: 0 });
  if (req.offline) {
    if (!cached) throw offlineError(req, check);
    return fromCache(cached);
  }
  if (cached && !req.checkForUpdates) {
    if (check.unknownOptional.length === 0) return fromCache(cached);
    // Complete but for an optional file nobody asked about yet (a cache written by huggingface_hub without
    // chat_template.json): ask for it at the cached commit only, and whatever goes wrong, use the cache.
    try {
      return await fetchFromHub(req, cache, explicit, cached);
    } catch (error) {
      if (error instanceof SmolVLMError && error.code !== 'ABORTED') return fromCache(cached);
      throw error;
    }
  }
  return fetchFromHub(req, cache, explicit);
}

/** The online path. `pinned` (a complete cached snapshot) skips resolving the revision and listing the repo. */
async function fetchFromHub(req: HubModelRequest, cache: RepoCache, explicit: SessionDtypes | undefined, pinned?: PinnedSnapshot): Promise<HubModelResult> {
  const ctx = req.http();
  const plan = await planDownload(ctx, cache, req, explicit, pinned);
  const fetched = await downloadPlannedFiles(ctx, cache, req, plan);
  if (!pinned) await writeRef(cache, req.revision, plan.commit);
  return hubModelResult(req, cache, plan, [...plan.present, ...fetched.linked], false, fetched.downloaded);
}

function hubModelResult(
  req: HubModelRequest,
  cache: RepoCache,
  { commit, dtypes }: PinnedSnapshot,
  files: string[],
  fromCache: boolean,
  downloaded: { files: number; bytes: number },
): HubModelResult {
  const dir = cache.snapshotDir(commit);
  return { dir, repo: req.repo, revision: req.revision, commit, fromCache, dtypes, sessions: sessionPaths(dir, dtypes), files, downloaded };
}

/** What the cache holds for a revision. */
interface CacheCheck {
  commit?: string;
  dtypes?: SessionDtypes;
  present: string[];
  /** Required files absent. */
  missing: string[];
  /** Optional files neither present nor known to be absent. */
  unknownOptional: string[];
}

const ANY_ONNX = 'onnx/ session files (no dtype present)';

/**
 * What the cache holds for a revision, for the explicit dtypes or else the preferred ones the snapshot has. Data
 * parts are taken as present: downloads link an .onnx only after its data parts, so a linked .onnx implies its parts.
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
    dtypes = pickDtypes(preference, (s, d) => files.has(onnxFileName(s, d)));
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

function offlineError(req: HubModelRequest, check: CacheCheck): SmolVLMError {
  const ref = formatRef(req.repo, req.revision);
  const how = 'offline mode is on (HF_HUB_OFFLINE=1 or the offline option); download it while online first';
  if (!check.commit) return new SmolVLMError('OFFLINE', `${ref} is not in the cache ${req.cacheDir}, and ${how}`);
  return new SmolVLMError('OFFLINE', `the cached ${ref} (commit ${check.commit.slice(0, 12)}) lacks ${check.missing.join(', ')}, and ${how}`);
}

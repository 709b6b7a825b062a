/*
 * Models from the Hugging Face Hub, cached in huggingface_hub's layout.
 *
 * Mostly hand-written on fetch: @huggingface/hub 2.17.5 downloads without resume, locking or checksum checks,
 * leaves refs/ unwritten, reads neither HF_ENDPOINT nor HF_TOKEN, rejects tokens not starting with `hf_`, and its
 * cache scan does not descend into `onnx/` (spec §7.3). Its `listFiles` is used for the tree API.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { machineDtypePreference } from '../default-dtype.js';
import { SmolVLMError } from '../errors.js';
import { MODEL_ALIASES } from './aliases.js';
import { DEFAULT_DTYPE, DEFAULT_DTYPE_PREFERENCE, onnxFilePath, pickDtypes, resolveDtypes, type Dtype, type SessionDtypes, type SessionName } from './dtypes.js';
import { expandHome, hubCacheDir, hubOffline, hubSettingsFromEnv, type HubEnvSettings } from './env.js';
import { sessionFiles } from './files.js';
import { DEFAULT_RETRY, type HttpContext } from './http.js';
import type { HubOptions } from './options.js';
import { ensureHubModel, type HubModelResult } from './pull.js';
import { parseModelReference } from './refs.js';

export { DEFAULT_MODEL, MODEL_ALIASES, aliasOfRepo, findAlias, type ModelAlias } from './aliases.js';
export {
  CANONICAL_DTYPES,
  DEFAULT_DTYPE,
  DEFAULT_DTYPE_PREFERENCE,
  DTYPE_SUFFIXES,
  SESSION_NAMES,
  isDtype,
  onnxFilePath,
  parseDtypeSpec,
  parseOnnxFileName,
  pickDtypes,
  resolveDtypes,
  type Dtype,
  type DtypeSpec,
  type SessionDtypes,
  type SessionName,
} from './dtypes.js';
export { hubCacheDir, hubEndpoint, hubOffline, hubSettingsFromEnv, hubToken, hfHome, type Env, type HubEnvSettings } from './env.js';
export { OPTIONAL_FILES, REQUIRED_FILES } from './files.js';
export type { RetryOptions } from './http.js';
export { listCachedModels, inspectCachedRepo, type CacheOptions, type CachedFile, type CachedModel, type CachedRevision } from './list.js';
export type { DownloadProgress, HubOptions } from './options.js';
export { removeCachedModel, type RemoveOptions, type RemoveResult } from './remove.js';
export { formatRef, isCommitSha, isValidRepoId, parseModelReference, type ModelReference } from './refs.js';
export { repoFolderName } from './cache-layout.js';

export interface ModelSource {
  /** Directory to load the model from: the local directory, or the cache snapshot (never resolved into blobs/). */
  dir: string;
  /** Hub repo id (absent for a local directory). */
  repo?: string;
  /** Requested revision (default `main`). */
  revision?: string;
  /** Commit the revision resolved to. */
  commit?: string;
  /** The alias used, if any (`256m`). */
  alias?: string;
  /** True when nothing was requested from the network (and always for a local directory). */
  fromCache: boolean;
  /** dtype per session: as requested, else the preferred one available (pass it on to the engine). */
  dtypes: SessionDtypes;
  /** Absolute paths of the three session files (not checked for a local directory). */
  sessions: Record<SessionName, string>;
  /** Repo paths present in the snapshot for this request (Hub models only). */
  files?: string[];
  /** What this call downloaded (Hub models only). */
  downloaded?: { files: number; bytes: number };
}

function httpContext(options: HubOptions, settings: HubEnvSettings): HttpContext {
  const endpoint = (options.endpoint ?? settings.endpoint).trim().replace(/\/+$/, '');
  const fromEnv = options.token === undefined ? settings.token : undefined;
  const token = options.token === false ? undefined : (options.token ?? fromEnv?.token);
  const tokenSource = typeof options.token === 'string' ? 'the token option' : fromEnv ? (fromEnv.path ?? fromEnv.source) : undefined;
  return {
    endpoint,
    ...(token ? { token } : {}),
    ...(tokenSource ? { tokenSource } : {}),
    fetch: options.fetch ?? globalThis.fetch,
    ...(options.signal ? { signal: options.signal } : {}),
    retry: { ...DEFAULT_RETRY, ...options.retry },
    metadataTimeoutMs: options.timeouts?.metadataMs ?? settings.metadataTimeoutMs ?? 10_000,
    downloadTimeoutMs: options.timeouts?.stallMs ?? settings.downloadTimeoutMs ?? 30_000,
  };
}

async function hubSource(repo: string, revision: string | undefined, alias: string | undefined, options: HubOptions, checkForUpdates: boolean): Promise<ModelSource> {
  const env = options.env ?? process.env;
  const result: HubModelResult = await ensureHubModel({
    repo,
    revision: revision ?? 'main',
    ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
    preference: await dtypePreferenceFor(options),
    cacheDir: options.cacheDir ?? hubCacheDir(env),
    offline: options.offline ?? hubOffline(env),
    checkForUpdates,
    http: () => httpContext(options, hubSettingsFromEnv(env)),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.lock ? { lock: options.lock } : {}),
    concurrency: options.concurrency ?? 4,
  });
  return { ...result, ...(alias ? { alias } : {}) };
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The caller's preference, else this CPU's (default-dtype.ts); the int8 probe runs only when a default is needed
 * and, like the model cache, reads process.env (SMOLVLM_INT8_SATURATES, SMOLVLM_CACHE), not `options.env`.
 */
async function dtypePreferenceFor(options: HubOptions): Promise<readonly Dtype[]> {
  if (options.dtypePreference) return options.dtypePreference;
  return options.dtype !== undefined ? DEFAULT_DTYPE_PREFERENCE : machineDtypePreference();
}

async function localSource(dir: string, options: HubOptions): Promise<ModelSource> {
  const dtypes =
    options.dtype !== undefined
      ? resolveDtypes(options.dtype)
      : (pickDtypes(await dtypePreferenceFor(options), (s, d) => existsSync(path.join(dir, ...onnxFilePath(s, d).split('/')))) ??
        resolveDtypes(DEFAULT_DTYPE));
  const sessions = {} as Record<SessionName, string>;
  for (const [s, f] of Object.entries(sessionFiles(dtypes)) as [SessionName, string][]) sessions[s] = path.join(dir, ...f.split('/'));
  return { dir, fromCache: false, dtypes, sessions };
}

/**
 * Where to load a model from. A local directory is returned as is (an existing directory wins over a Hub id of
 * the same spelling); an alias or `org/name[@revision]` is made present in the Hub cache for the requested dtypes
 * (downloading only what is missing; no request at all when the cache already has everything) and its snapshot
 * directory is returned.
 */
export async function resolveModelSource(ref: string, options: HubOptions = {}): Promise<ModelSource> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const parsed = parseModelReference(ref);
  const asPath = path.resolve(cwd, expandHome(ref.trim(), env));
  if (parsed.kind === 'local' || (await isDirectory(asPath))) {
    if (!(await isDirectory(asPath))) {
      const aliases = MODEL_ALIASES.map((a) => a.alias).join(', ');
      throw new SmolVLMError('MODEL_NOT_FOUND', `no model directory at ${asPath}; "${ref}" is also not an alias (${aliases}) nor a Hub repo id (org/name)`);
    }
    return localSource(asPath, options);
  }
  return hubSource(parsed.repo, parsed.revision, parsed.alias, options, options.checkForUpdates ?? false);
}

/**
 * Downloads (or updates) a Hub model for the requested dtypes. Unlike resolveModelSource it asks the Hub what the
 * revision points to even when the cache is complete, unless `checkForUpdates: false` or offline.
 */
export async function pullModel(ref: string, options: HubOptions = {}): Promise<ModelSource> {
  const parsed = parseModelReference(ref);
  if (parsed.kind !== 'hub') {
    throw new SmolVLMError('USAGE', `"${ref}" is a local path, not a Hub model (org/name or an alias such as 256m); nothing to pull`);
  }
  return hubSource(parsed.repo, parsed.revision, parsed.alias, options, options.checkForUpdates ?? true);
}

/*
 * From a model reference to a directory to load: a local directory as is, or a Hub model made present in the
 * cache (ensure.ts) for the requested dtypes.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SmolVLMError } from '../errors.js';
import { preferredDtypes, sessionPaths } from '../model-files/directory.js';
import { DEFAULT_DTYPE_PREFERENCE, resolveDtypes, type Dtype, type SessionDtypes, type SessionName } from '../model-files/dtypes.js';
import { machineDtypePreference } from '../default-dtype.js';
import { MODEL_ALIASES } from './aliases.js';
import { ensureHubModel } from './ensure.js';
import { expandHome, hubCacheDir, hubOffline, hubSettingsFromEnv } from './env.js';
import { createHttpContext } from './http.js';
import { parseModelReference, type ModelReference } from './model-reference.js';
import type { HubOptions } from './options.js';

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

export type HubReference = Extract<ModelReference, { kind: 'hub' }>;

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
    return localModelSource(asPath, options);
  }
  return hubModelSource(parsed, options, options.checkForUpdates ?? false);
}

/** A Hub model from the cache, downloading what it lacks (asking the Hub first with `checkForUpdates`). */
export async function hubModelSource(ref: HubReference, options: HubOptions, checkForUpdates: boolean): Promise<ModelSource> {
  const env = options.env ?? process.env;
  const result = await ensureHubModel({
    repo: ref.repo,
    revision: ref.revision ?? 'main',
    ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
    preference: await dtypePreferenceFor(options),
    cacheDir: options.cacheDir ?? hubCacheDir(env),
    offline: options.offline ?? hubOffline(env),
    checkForUpdates,
    http: () => createHttpContext(options, hubSettingsFromEnv(env)),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.lock ? { lock: options.lock } : {}),
    concurrency: options.concurrency ?? 4,
  });
  return { ...result, ...(ref.alias ? { alias: ref.alias } : {}) };
}

/**
 * The caller's preference, else this CPU's (default-dtype.ts); the int8 probe runs only when a default is needed
 * and, like the optimized-graph cache, reads process.env (SMOLVLM_INT8_SATURATES, SMOLVLM_CACHE), not `options.env`.
 */
async function dtypePreferenceFor(options: HubOptions): Promise<readonly Dtype[]> {
  if (options.dtypePreference) return options.dtypePreference;
  return options.dtype !== undefined ? DEFAULT_DTYPE_PREFERENCE : machineDtypePreference();
}

async function localModelSource(dir: string, options: HubOptions): Promise<ModelSource> {
  const dtypes = options.dtype !== undefined ? resolveDtypes(options.dtype) : preferredDtypes(dir, await dtypePreferenceFor(options));
  return { dir, fromCache: false, dtypes, sessions: sessionPaths(dir, dtypes) };
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

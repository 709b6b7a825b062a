/*
 * Models from the Hugging Face Hub, cached in huggingface_hub's layout: the hub's public surface.
 *
 * Hand-written on fetch: @huggingface/hub 2.17.5 downloads without resume, locking or checksum checks, leaves
 * refs/ unwritten, reads neither HF_ENDPOINT nor HF_TOKEN, rejects tokens not starting with `hf_`, and its cache
 * scan does not descend into `onnx/`; its tree listing alone was not worth the dependency.
 *
 * A reference is followed by resolve.ts (or pull.ts) -> ensure.ts (cache check) -> plan.ts (commit, dtypes,
 * files) -> download.ts (locked downloads, blob-download.ts) -> snapshot.ts (links) -> cache-layout.ts (refs/).
 */
export { DEFAULT_MODEL, MODEL_ALIASES, aliasOfRepo, findAlias, type ModelAlias } from './aliases.js';
export {
  CANONICAL_DTYPES,
  DEFAULT_DTYPE,
  DEFAULT_DTYPE_PREFERENCE,
  DTYPE_SUFFIXES,
  SESSION_NAMES,
  isDtype,
  parseDtypeSpec,
  parseOnnxFileName,
  pickDtypes,
  resolveDtypes,
  type Dtype,
  type DtypeSpec,
  type SessionDtypes,
  type SessionName,
} from '../model-files/dtypes.js';
export { hubCacheDir, hubEndpoint, hubOffline, hubSettingsFromEnv, hubToken, hfHome, type Env, type HubEnvSettings } from './env.js';
export { OPTIONAL_FILES, REQUIRED_FILES } from '../model-files/directory.js';
export type { RetryOptions } from './http.js';
export { listCachedModels, inspectCachedRepo, type CacheOptions, type CachedFile, type CachedModel, type CachedRevision } from './cache-list.js';
export type { DownloadProgress, HubOptions } from './options.js';
export { removeCachedModel, type RemoveOptions, type RemoveResult } from './cache-remove.js';
export { describeBadBlob, verifyCachedBlobs, type BadBlob, type CacheVerifyResult, type VerifyCacheOptions } from './cache-verify.js';
export { formatRef, isCommitSha, isValidRepoId, parseModelReference, type ModelReference } from './model-reference.js';
export { repoFolderName } from './cache-layout.js';
export { resolveModelSource, type ModelSource } from './resolve.js';
export { pullModel } from './pull.js';

/**
 * The one seam between a `--model` value and a model directory on disk: a local directory as is, or a
 * Hub repo id / alias made present in the huggingface_hub cache (downloading what is missing).
 */
import { formatRef, resolveModelSource, type DownloadProgress, type DtypeSpec, type SessionDtypes } from '../index.js';

export interface ResolveModelOptions {
  dtype?: DtypeSpec;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Use the Hub cache only (also HF_HUB_OFFLINE=1). */
  offline?: boolean;
  /** Download progress, to show on stderr (DownloadProgressView from progress.ts). */
  onProgress?: (event: DownloadProgress) => void;
}

export interface ResolvedModel {
  /** The model directory to load. */
  dir: string;
  /** What to call the model in output: the repo id (with its revision) or the directory as given. */
  name: string;
  /** dtype per session, as asked or the preferred one present. */
  dtypes: SessionDtypes;
}

export async function resolveModel(ref: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const source = await resolveModelSource(ref, {
    ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.offline ? { offline: true } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  });
  return { dir: source.dir, name: source.repo ? formatRef(source.repo, source.revision) : ref.trim(), dtypes: source.dtypes };
}

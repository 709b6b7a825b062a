import type { Dtype, DtypeSpec } from '../model-files/dtypes.js';
import type { Env } from './env.js';
import type { RetryOptions } from './http.js';

export interface DownloadProgress {
  /**
   * `waiting`: another process is downloading this blob; `downloading`: bytes are flowing; `done`: this process
   * downloaded the file; `found`: the file was complete once the wait was over (another process downloaded it).
   */
  phase: 'waiting' | 'downloading' | 'done' | 'found';
  repo: string;
  revision: string;
  commit: string;
  /** Path inside the repo, e.g. `onnx/decoder_model_merged_q4.onnx`. */
  file: string;
  /** 0-based index among the files that have to be downloaded (files already in blobs/ are not counted). */
  fileIndex: number;
  totalFiles: number;
  /** Bytes of this file on disk, resumed bytes included. */
  downloaded: number;
  total: number;
  /** Bytes that were already there from an interrupted download. */
  resumedFrom: number;
  overallDownloaded: number;
  overallTotal: number;
}

export interface HubOptions {
  /**
   * One dtype for all sessions, one per session (unnamed sessions: fp32), or text such as `q4` / `vision=fp16,decoder=q4`.
   * Absent: per session, the first of `dtypePreference` that the repo has (or, served from the cache, the snapshot has).
   */
  dtype?: DtypeSpec | string;
  /** Default: defaultDtypePreference for this CPU: DEFAULT_DTYPE_PREFERENCE (int8, uint8, quantized, q4, fp32, fp16, q4f16, bnb4), with uint8 and quantized before int8 where int8 kernels saturate. */
  dtypePreference?: readonly Dtype[];
  /** Overrides HF_ENDPOINT. */
  endpoint?: string;
  /** Overrides HF_TOKEN & co; `false` sends no token. */
  token?: string | false;
  /** Overrides the cache root from HF_HUB_CACHE & co. */
  cacheDir?: string;
  /** Cache only (also HF_HUB_OFFLINE=1). */
  offline?: boolean;
  /** Where environment variables are read from (default process.env). */
  env?: Env;
  /** Base of relative local paths (default process.cwd()). */
  cwd?: string;
  signal?: AbortSignal;
  onProgress?: (event: DownloadProgress) => void;
  fetch?: typeof fetch;
  retry?: RetryOptions;
  timeouts?: {
    /** Metadata request limit (default HF_HUB_ETAG_TIMEOUT or 10 s). */
    metadataMs?: number;
    /** A download stalled this long is resumed (default HF_HUB_DOWNLOAD_TIMEOUT or 30 s). */
    stallMs?: number;
  };
  lock?: { pollMs?: number; staleMs?: number };
  /**
   * Ask the Hub what the revision points to even when the cache already has a complete snapshot for it.
   * Default: false for resolveModelSource (a complete cache makes no request), true for pullModel.
   */
  checkForUpdates?: boolean;
  /** Parallel metadata requests (default 4). */
  concurrency?: number;
}

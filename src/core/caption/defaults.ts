/**
 * Caption runs' defaults, apart from local.ts, remote.ts and sidecar.ts so that `smolvlm caption
 * --help` shows them without loading the captioners (the CLI bundle loads a module with everything it
 * imports).
 */

/** Captions decoded together by default (the calls a run keeps in flight). */
export const DEFAULT_CAPTION_BATCH = 4;

export const DEFAULT_SIDECAR_EXTENSION = '.txt';

export const DEFAULT_REMOTE_CONCURRENCY = 4;
export const DEFAULT_REMOTE_TIMEOUT_MS = 120_000;
export const DEFAULT_REMOTE_RETRIES = 5;

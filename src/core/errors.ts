/**
 * Errors a user can cause. They carry a stable code and a one-line message that names the culprit;
 * front ends decide how to show them (the CLI prints the message without a stack).
 */
export type ErrorCode =
  | 'USAGE' // a request that makes no sense (bad option value, missing argument)
  | 'MODEL_NOT_FOUND' // no such directory / repo / alias
  | 'MODEL_FILE_MISSING' // a required file of a model directory is absent
  | 'MODEL_INVALID' // a model file exists but is corrupt or has the wrong interface
  | 'IMAGE_NOT_FOUND' // image path does not exist or is a directory
  | 'IMAGE_INVALID' // bytes that are not a decodable image (truncated, empty, unknown format)
  | 'IMAGE_TOO_LARGE' // decompression bomb or over the byte cap
  | 'VIDEO_INVALID' // not a readable video (unknown container, no video stream, ffmpeg could not decode it)
  | 'VIDEO_DECODER_MISSING' // no working ffmpeg binary (SMOLVLM_FFMPEG, the bundled one, or PATH)
  | 'VIDEO_UNSUPPORTED' // a video given to a model that was not trained on video (no video_sampling)
  | 'PROMPT_INVALID' // placeholder / image count mismatch and similar
  | 'CONTEXT_OVERFLOW' // prompt longer than the model's context
  | 'NETWORK' // could not reach a server, timeout, HTTP error
  | 'HUB_AUTH' // 401/403 from the Hub (gated or private)
  | 'HUB_NOT_FOUND' // 404 from the Hub
  | 'OFFLINE' // offline mode and the cache lacks a file
  | 'INTEGRITY' // a download does not match its checksum / size
  | 'CACHE_BUSY' // another process is downloading into the cache entry (removing it must wait)
  | 'ABORTED'; // cancelled by the caller (AbortSignal)

export class SmolVLMError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SmolVLMError';
    this.code = code;
  }
}

export function isSmolVLMError(error: unknown): error is SmolVLMError {
  return error instanceof SmolVLMError;
}

/**
 * The one ABORTED error: "`what` was cancelled" (e.g. "generation was cancelled", "download was
 * cancelled"), with the signal's reason as its cause. The CLI exits 130 on it.
 */
export function cancelledError(what: string, signal?: AbortSignal): SmolVLMError {
  const reason: unknown = signal?.reason;
  return new SmolVLMError('ABORTED', `${what} was cancelled`, reason !== undefined ? { cause: reason } : undefined);
}

/** Throws cancelledError(what) when `signal` has been aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelledError(what, signal);
}

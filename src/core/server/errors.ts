/**
 * Errors in OpenAI's shape (`{"error":{"message","type","param","code"}}`) with their HTTP status,
 * and the translation of the library's SmolVLMError codes into them.
 */
import { isSmolVLMError, type ErrorCode } from '../errors.js';

/** OpenAI's error object, as the official clients read it. */
export interface ApiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A request the server answers with an error status. `param` names the request field at fault. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (Retry-After on a 503, Allow on a 405). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** OpenAI's `type`: what kind of failure, from the status. */
  get type(): string {
    if (this.status === 401) return 'authentication_error';
    if (this.status === 404) return 'not_found_error';
    if (this.status >= 500) return 'server_error';
    return 'invalid_request_error';
  }

  body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A 400 naming the request field at fault. */
export function invalidField(param: string | null, message: string, code: string | null = 'invalid_value'): ApiError {
  return new ApiError(400, message, param, code);
}

/** Library errors a request can cause, as 400s with OpenAI-style codes; the others are the server's fault. */
const CLIENT_CODES: Partial<Record<ErrorCode, string>> = {
  USAGE: 'invalid_value',
  PROMPT_INVALID: 'invalid_prompt',
  CONTEXT_OVERFLOW: 'context_length_exceeded',
  IMAGE_NOT_FOUND: 'invalid_image',
  IMAGE_INVALID: 'invalid_image',
  IMAGE_TOO_LARGE: 'invalid_image',
  NETWORK: 'invalid_image',
};

/**
 * Any error as an ApiError: ApiErrors as they are, the library's errors a request can cause as
 * 400s (with `param` when the caller knows the field), anything else as a 500 that says only what
 * failed (the message, never a stack).
 */
export function toApiError(error: unknown, param: string | null = null): ApiError {
  if (error instanceof ApiError) return error;
  if (isSmolVLMError(error)) {
    const code = CLIENT_CODES[error.code];
    if (code !== undefined) return new ApiError(400, error.message, param, code);
    if (error.code === 'ABORTED') return new ApiError(499, error.message, null, 'request_aborted');
    return new ApiError(500, error.message, null, error.code.toLowerCase());
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError(500, `internal error: ${message.split('\n')[0] || 'unexpected failure'}`, null, 'internal_error');
}

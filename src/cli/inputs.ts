/** Command-line inputs: telling images (and videos) from questions, reading a question from stdin. */
import { stat } from 'node:fs/promises';
import { checkImageSource, hasImageExtension, hasVideoExtension, type ImageSourceOptions, isSmolVLMError, resolveLocalPath, STDIN_SOURCE } from '../index.js';
import { UsageError } from './errors.js';

/** Most bytes of a question read from stdin. */
export const MAX_STDIN_TEXT_BYTES = 1024 * 1024;

/**
 * Whether a positional argument names an image or video rather than being the question: `-`, a URL
 * or `data:` URI, an existing path, or a single word with an image or video extension.
 */
export async function isImageArgument(text: string, cwd: string): Promise<boolean> {
  if (text === STDIN_SOURCE) return true;
  if (/^(data:|https?:\/\/|file:)/i.test(text)) return true;
  if (!/\s/.test(text) && (hasImageExtension(text) || hasVideoExtension(text))) return true;
  try {
    await stat(resolveLocalPath(text, { cwd }));
    return true;
  } catch {
    return false;
  }
}

/** Reads stdin as UTF-8 text (for a question), refusing more than MAX_STDIN_TEXT_BYTES. */
export async function readStdinText(stdin: NodeJS.ReadableStream, signal?: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stdin) {
    if (signal?.aborted) break;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    total += bytes.length;
    if (total > MAX_STDIN_TEXT_BYTES) throw new UsageError(`the question on stdin is longer than ${MAX_STDIN_TEXT_BYTES / 1024 / 1024} MiB`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Errors that belong to one image or video of several (the others can still be answered). */
export function isImageError(error: unknown): boolean {
  return (
    isSmolVLMError(error) &&
    (error.code === 'IMAGE_NOT_FOUND' ||
      error.code === 'IMAGE_INVALID' ||
      error.code === 'IMAGE_TOO_LARGE' ||
      error.code === 'VIDEO_INVALID' ||
      error.code === 'NETWORK' ||
      error.code === 'CONTEXT_OVERFLOW')
  );
}

/**
 * Checks the image arguments before the model is resolved, so that a wrong path fails at once with
 * nothing downloaded. Without `onError` the first failure is thrown; with it, each failing image is
 * reported through it and left out of the list returned (describe goes on with the others).
 */
export async function checkImages(images: readonly string[], source: ImageSourceOptions, onError?: (error: unknown, image: string) => void): Promise<string[]> {
  const usable: string[] = [];
  for (const image of images) {
    try {
      await checkImageSource(image, source);
      usable.push(image);
    } catch (error) {
      if (onError === undefined || !isImageError(error)) throw error;
      onError(error, image);
    }
  }
  return usable;
}

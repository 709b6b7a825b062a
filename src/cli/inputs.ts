/** Command-line inputs: telling images (and videos) from questions, reading a question from stdin. */
import { stat } from 'node:fs/promises';
import { checkImageSource, hasImageExtension, hasVideoExtension, IMAGE_FORMAT_NAMES, type ImageSourceOptions, isSmolVLMError, resolveLocalPath, sniffImageFormat, STDIN_SOURCE } from '../index.js';
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

/** Bytes enough to recognize an image by its first bytes (sniff.ts looks at a few dozen). */
const SNIFF_BYTES = 64;

/**
 * Refuses stdin that is not a question: an image piped without `-` among the images (it would be read
 * as a question of tens of thousands of tokens), or other binary data (NUL bytes never occur in text).
 */
function checkStdinIsText(head: Buffer): void {
  const format = sniffImageFormat(head);
  if (format) {
    throw new UsageError(`stdin holds a ${IMAGE_FORMAT_NAMES[format]} image, not a question: pass - as the image to read it from stdin (smolvlm ask - "your question")`);
  }
  if (head.includes(0)) throw new UsageError('stdin holds binary data, not a question: pipe text, or pass - as the image for image bytes');
}

/**
 * Whether a line of piped chat input shows that stdin is not text: a NUL byte (never in text), or a
 * first line with bytes that are not UTF-8 or control characters text does not have (an image's
 * signature, random bytes); GIF and WebP signatures are plain ASCII.
 */
export function isBinaryChatLine(line: string, first: boolean): boolean {
  return line.includes('\u0000') || (first && /^(GIF8[79]a|RIFF)|[\uFFFD\u0001-\u0008\u000E-\u001A\u001C-\u001F]/.test(line));
}

/** Reads stdin as UTF-8 text (for a question), refusing more than MAX_STDIN_TEXT_BYTES and image or binary bytes. */
export async function readStdinText(stdin: NodeJS.ReadableStream, signal?: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  let checked = false;
  for await (const chunk of stdin) {
    if (signal?.aborted) break;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    total += bytes.length;
    chunks.push(bytes);
    if (!checked && total >= SNIFF_BYTES) {
      checkStdinIsText(Buffer.concat(chunks).subarray(0, SNIFF_BYTES));
      checked = true;
    }
    if (total > MAX_STDIN_TEXT_BYTES) throw new UsageError(`the question on stdin is longer than ${MAX_STDIN_TEXT_BYTES / 1024 / 1024} MiB`);
  }
  const text = Buffer.concat(chunks);
  if (!checked) checkStdinIsText(text);
  return text.toString('utf8');
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

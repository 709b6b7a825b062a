/**
 * Checking image arguments before a model is resolved: a typo in a path must fail in milliseconds,
 * not after a download of several hundred megabytes.
 */
import { open, stat } from 'node:fs/promises';
import { sniffVideoFormat, VIDEO_SNIFF_BYTES } from '../video/sniff.js';
import { resolveLocalPath } from './references.js';
import { readImageSource, STDIN_SOURCE, type ImageSourceOptions } from './source.js';

/** Sources that can be checked now without side effects: local files and data: URIs (not stdin, not URLs). */
function checkableNow(source: string): boolean {
  if (source === STDIN_SOURCE) return false;
  return !/^https?:\/\//i.test(source);
}

/**
 * Throws the error reading `source` would give later (IMAGE_NOT_FOUND, IMAGE_INVALID, IMAGE_TOO_LARGE,
 * USAGE) for a local path, a `file://` URL or a `data:` URI. Left for the real read: `-` (stdin can be
 * read only once), http(s) URLs (a network error is not a typo), and pipes or devices such as
 * `<(curl …)` (reading one consumes it). The bytes read here are not kept: an image is read again
 * when it is used, so checking a thousand paths holds one image in memory at a time.
 */
export async function checkImageSource(source: string | Uint8Array, options: ImageSourceOptions = {}): Promise<void> {
  if (typeof source !== 'string' || !checkableNow(source)) return;
  if (!/^data:/i.test(source) && source.trim() !== '') {
    let absolute: string;
    try {
      absolute = resolveLocalPath(source, { ...(options.cwd !== undefined ? { cwd: options.cwd } : {}), ...(options.homeDir !== undefined ? { homeDir: options.homeDir } : {}) });
    } catch {
      absolute = '';
    }
    const info = absolute === '' ? undefined : await stat(absolute).catch(() => undefined);
    // Not a pipe or device: a regular file, or something missing that readImageSource names clearly.
    if (info !== undefined && !info.isFile() && !info.isDirectory()) return;
    // A video goes wherever an image does; its real read (video/source.ts) checks it when it is used.
    if (info?.isFile() && (await isVideoFile(absolute))) return;
  }
  await readImageSource(source, options);
}

async function isVideoFile(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    const head = new Uint8Array(VIDEO_SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return sniffVideoFormat(head.subarray(0, bytesRead)) !== undefined;
  } finally {
    await handle.close();
  }
}

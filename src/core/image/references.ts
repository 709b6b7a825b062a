/**
 * Local image paths as people type or paste them: `~` expansion, `file://` URLs (what a terminal
 * pastes when a file is dragged in), image file extensions. (Picking image paths out of a typed chat
 * line is the REPL's: src/cli/repl/image-references.ts.)
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SmolVLMError } from '../errors.js';

/**
 * File extensions that mark a name as an image (ask's arguments, chat lines, the files a caption run
 * takes from folders and glob matches), lower case with the dot.
 */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.avif', '.heic', '.heif', '.tif', '.tiff', '.bmp'];

/** File extensions that mark a word as a video path (ask's arguments, chat lines), lower case with the dot. */
export const VIDEO_EXTENSIONS: readonly string[] = ['.mp4', '.m4v', '.mov', '.webm', '.mkv', '.avi', '.ts', '.mts', '.m2ts'];

export interface PathResolveOptions {
  /** Directory relative paths are resolved against (default: process.cwd()). */
  cwd?: string;
  /** What `~` means (default: os.homedir()). */
  homeDir?: string;
}

/** True when the name ends in one of IMAGE_EXTENSIONS (case-insensitive) after a non-empty stem. */
export function hasImageExtension(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** True when the name ends in one of VIDEO_EXTENSIONS (case-insensitive) after a non-empty stem. */
export function hasVideoExtension(name: string): boolean {
  return VIDEO_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** `~` and `~/…` (and `~\…` on Windows) to the home directory; anything else unchanged (`~user` included). */
export function expandHome(p: string, homeDir: string = os.homedir()): string {
  if (p === '~') return homeDir;
  if (p.startsWith('~/') || (path.sep === '\\' && p.startsWith('~\\'))) return path.join(homeDir, p.slice(2));
  return p;
}

/** True for `file:` URLs (any case). */
export function isFileUrl(text: string): boolean {
  return /^file:/i.test(text);
}

/**
 * The absolute path a path argument or `file://` URL names. Throws SmolVLMError('USAGE') for a
 * `file:` URL that is malformed or names a remote host.
 */
export function resolveLocalPath(given: string, options: PathResolveOptions = {}): string {
  const cwd = options.cwd ?? process.cwd();
  if (isFileUrl(given)) {
    let url: URL;
    try {
      url = new URL(given);
    } catch (cause) {
      throw new SmolVLMError('USAGE', `not a valid file URL: ${given}`, { cause });
    }
    // file://localhost/… is the same as file:///…
    if (url.hostname === 'localhost') url.hostname = '';
    try {
      return fileURLToPath(url);
    } catch (cause) {
      const reason = url.hostname ? `it names the remote host "${url.hostname}"` : 'it cannot be turned into a path';
      throw new SmolVLMError('USAGE', `cannot open file URL ${given}: ${reason}`, { cause });
    }
  }
  return path.resolve(cwd, expandHome(given, options.homeDir));
}

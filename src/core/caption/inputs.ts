/**
 * What a caption run works on: files, folders (recursive), glob patterns and a files-from list turned
 * into one sorted list of image files, each once.
 *
 * Globs are expanded here rather than by the shell so that `'photos/**\/*.jpg'` works the same
 * everywhere and past the shell's argument limit. tinyglobby does the matching: two small,
 * well-kept dependencies (fdir, picomatch), the glob engine of Vite and many other tools, typed ESM,
 * and it crawls thousands of files quickly; fast-glob does the same with five dependencies.
 */
import { open, readFile, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { SmolVLMError } from '../errors.js';
import { hasImageExtension } from '../image/references.js';
import { describeNonImage, sniffImageFormat } from '../image/sniff.js';

/** The files-from name meaning standard input. */
export const FILES_FROM_STDIN = '-';

export interface CollectImagesOptions {
  /** A file listing one path per entry, or `-` for `stdin`. Entries are paths, never patterns. */
  filesFrom?: string;
  /** The list is NUL-separated (as `find -print0` writes) instead of newline-separated. */
  nul?: boolean;
  /** Where `filesFrom: '-'` reads from (default process.stdin). */
  stdin?: AsyncIterable<Uint8Array | string>;
  /** Relative paths and patterns start here (default process.cwd()). */
  cwd?: string;
}

/** A named file that is not an image; left out, not an error. */
export interface IgnoredInput {
  path: string;
  reason: string;
}

export interface CollectedImages {
  /** Absolute paths, sorted by code point, each image once (by real path). */
  files: string[];
  /** Explicitly named files that are not images. */
  ignored: IgnoredInput[];
}

async function statOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new SmolVLMError('IMAGE_NOT_FOUND', `cannot read ${JSON.stringify(file)}: ${(error as Error).message}`, { cause: error });
  }
}

/** The image files under a folder, hidden files and folders left out. */
async function imagesUnder(folder: string): Promise<string[]> {
  const found = await glob('**/*', { cwd: folder, absolute: true, dot: false, onlyFiles: true, expandDirectories: false });
  return found.filter(hasImageExtension).map((file) => path.resolve(file));
}

/** A file named on purpose: kept when its extension or its first bytes say it is an image. */
async function explicitFile(file: string): Promise<IgnoredInput | undefined> {
  if (hasImageExtension(file)) return undefined;
  const head = new Uint8Array(64);
  const handle = await open(file, 'r');
  let length: number;
  try {
    ({ bytesRead: length } = await handle.read(head, 0, head.length, 0));
  } finally {
    await handle.close();
  }
  const bytes = head.subarray(0, length);
  if (sniffImageFormat(bytes)) return undefined;
  return { path: file, reason: `not an image${describeNonImage(bytes) ? ` (${describeNonImage(bytes)})` : ''}` };
}

/** The list in a files-from file or stdin: entries split on NUL or newlines, blank ones dropped. */
export async function readFilesFrom(source: string, options: Pick<CollectImagesOptions, 'nul' | 'stdin' | 'cwd'> = {}): Promise<string[]> {
  let text: string;
  if (source === FILES_FROM_STDIN) {
    const stdin = options.stdin ?? process.stdin;
    if ((stdin as { isTTY?: boolean }).isTTY === true) {
      throw new SmolVLMError('USAGE', 'the list of files is read from stdin, but stdin is a terminal: pipe it in (find … -print0 | … -0)');
    }
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk));
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    try {
      text = await readFile(path.resolve(options.cwd ?? process.cwd(), source), 'utf8');
    } catch (error) {
      throw new SmolVLMError('USAGE', `cannot read the list of files ${JSON.stringify(source)}: ${(error as Error).message}`, { cause: error });
    }
  }
  const entries = options.nul ? text.split('\0') : text.split('\n').map((line) => line.replace(/\r$/, ''));
  return entries.filter((entry) => entry !== '');
}

/** The image files one input names: a file, a folder, or (when `pattern`) a glob pattern. */
async function expandInput(input: string, cwd: string, pattern: boolean, ignored: IgnoredInput[]): Promise<string[]> {
  const resolved = path.resolve(cwd, input);
  const stats = await statOrUndefined(resolved);
  if (stats?.isDirectory()) {
    const files = await imagesUnder(resolved);
    if (files.length === 0) throw new SmolVLMError('IMAGE_NOT_FOUND', `No image files in the folder ${JSON.stringify(input)}`);
    return files;
  }
  if (stats) {
    const skip = await explicitFile(resolved);
    if (skip) ignored.push(skip);
    return skip ? [] : [resolved];
  }
  if (pattern && isDynamicPattern(input)) {
    const matches = await glob(input, { cwd, absolute: true, dot: false, onlyFiles: true, expandDirectories: false });
    const files = matches.filter(hasImageExtension).map((file) => path.resolve(file));
    if (files.length === 0) throw new SmolVLMError('IMAGE_NOT_FOUND', `No image files match ${JSON.stringify(input)}`);
    return files;
  }
  throw new SmolVLMError('IMAGE_NOT_FOUND', `No such file or folder: ${JSON.stringify(input)}`);
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Files, folders (recursive) and glob patterns, plus the entries of a files-from list, as one sorted
 * list of image files without duplicates (two names of one file count once). A missing path, a pattern
 * that matches no image and a folder without images are errors (IMAGE_NOT_FOUND); a named file that is
 * not an image is left out and listed in `ignored`. Images are checked by extension here; their bytes
 * are sniffed again when a run reads them.
 */
export async function collectImages(inputs: readonly string[], options: CollectImagesOptions = {}): Promise<CollectedImages> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const ignored: IgnoredInput[] = [];
  const candidates: string[] = [];
  for (const input of inputs) candidates.push(...(await expandInput(input, cwd, true, ignored)));
  if (options.filesFrom !== undefined) {
    for (const entry of await readFilesFrom(options.filesFrom, { ...options, cwd })) {
      candidates.push(...(await expandInput(entry, cwd, false, ignored)));
    }
  }
  const byRealPath = new Map<string, string>();
  for (const file of candidates) {
    const real = await realpath(file);
    if (!byRealPath.has(real)) byRealPath.set(real, file);
  }
  return { files: [...byRealPath.values()].sort(byCodePoint), ignored };
}

/**
 * Telling videos from images wherever an image is accepted, by their first bytes. A local file is
 * sniffed from its head, and a video stays where it is (ffmpeg seeks in it; nothing is read into
 * memory). stdin, a download, a `data:` URI or bytes are read whole, and a video among them is written
 * to a private temporary file, since ffmpeg can only seek in a file.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { resolveLocalPath } from '../image/references.js';
import {
  acceptImage,
  DEFAULT_MAX_IMAGE_BYTES,
  readSource,
  refuseEmpty,
  STDIN_SOURCE,
  tooLarge,
  type ImageSourceOptions,
  type SourceKind,
} from '../image/source.js';
import { sniffImageFormat } from '../image/sniff.js';
import { sniffVideoFormat, VIDEO_SNIFF_BYTES, type VideoFormat } from './sniff.js';
import { writeTempVideo } from './temp-file.js';

/** Most bytes of a video read into memory (stdin, a download, a data: URI); a local file has no limit. */
export const DEFAULT_MAX_VIDEO_BYTES = 1024 * 1024 * 1024;

/** An image, to be read (again, for a local file) by the image reader. */
export interface ImageMedia {
  kind: 'image';
  /** The argument as given, or the bytes that were read. */
  input: string | Uint8Array;
  label: string;
}

/** A video file ffmpeg can seek in. */
export interface VideoFile {
  kind: 'video';
  path: string;
  label: string;
  format: VideoFormat;
  /** Identifies the content: a hash of the bytes, or of a local file's path, size and modification time. */
  identity: string;
  /** Absolute path of a local file (not set for a temporary copy). */
  local?: string;
  /** Removes the temporary copy of bytes from stdin or a download; absent for a local file. */
  dispose?: () => Promise<void>;
}

export type MediaSource = ImageMedia | VideoFile;

interface VideoBytes {
  kind: 'video-bytes';
  bytes: Uint8Array;
  label: string;
  format: VideoFormat;
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The absolute path of a regular local file named by `given`, and its first bytes; undefined for anything else. */
async function localHead(given: string, options: ImageSourceOptions): Promise<{ absolute: string; head: Uint8Array; identity: string } | undefined> {
  const text = given.trim();
  if (text === STDIN_SOURCE || (/^(data:|[a-z][a-z0-9+.-]+:\/\/)/i.test(text) && !/^file:/i.test(text))) return undefined;
  try {
    const absolute = resolveLocalPath(given, { ...(options.cwd ? { cwd: options.cwd } : {}), ...(options.homeDir ? { homeDir: options.homeDir } : {}) });
    const info = await stat(absolute);
    // A pipe (`<(curl …)`) could be read only once: the image reader streams it instead.
    if (!info.isFile()) return undefined;
    const handle = await open(absolute, 'r');
    try {
      const head = new Uint8Array(VIDEO_SNIFF_BYTES);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      return { absolute, head: head.subarray(0, bytesRead), identity: sha256(`${absolute}\0${info.size}\0${info.mtimeMs}`) };
    } finally {
      await handle.close();
    }
  } catch {
    return undefined; // the image reader says what is wrong (missing, unreadable, a bad file: URL)
  }
}

/** Reads stdin, a download, a data: URI or bytes whole and tells a video from an image. */
function readWhole(input: string | Uint8Array, options: ImageSourceOptions): Promise<ImageMedia | VideoBytes> {
  const imageLimit = options.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  const accept = (bytes: Uint8Array, label: string, source: SourceKind, contentType?: string): ImageMedia | VideoBytes => {
    refuseEmpty(bytes, label, source);
    const format = sniffImageFormat(bytes) === undefined ? sniffVideoFormat(bytes) : undefined;
    if (format) return { kind: 'video-bytes', bytes, label: source === 'bytes' ? 'video bytes' : label, format };
    acceptImage(bytes, label, source, contentType);
    if (bytes.length > imageLimit) throw tooLarge(label, imageLimit, bytes.length);
    return { kind: 'image', input: bytes, label };
  };
  return readSource(input, options, Math.max(options.maxBytes ?? DEFAULT_MAX_VIDEO_BYTES, imageLimit), accept);
}

/**
 * What an image or video argument is: a path (`~` expanded), `file://` or `http(s)://` URL, `data:`
 * URI, `-` for stdin, or bytes. Errors are the image reader's (IMAGE_NOT_FOUND, IMAGE_INVALID, …).
 * A video read into memory is written to a temporary file; the caller disposes of it.
 */
export async function readMediaSource(input: string | Uint8Array, options: ImageSourceOptions = {}): Promise<MediaSource> {
  if (typeof input === 'string') {
    const local = await localHead(input, options);
    if (local) {
      const format = sniffImageFormat(local.head) === undefined ? sniffVideoFormat(local.head) : undefined;
      if (!format) return { kind: 'image', input, label: input };
      return { kind: 'video', path: local.absolute, label: input, format, identity: local.identity, local: local.absolute };
    }
  }
  const read = await readWhole(input, options);
  if (read.kind === 'image') return read;
  const temp = await writeTempVideo(read.bytes, read.format);
  return { kind: 'video', path: temp.path, label: read.label, format: read.format, identity: sha256(read.bytes), dispose: temp.dispose };
}


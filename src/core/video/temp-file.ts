/**
 * Videos are read by seeking, which ffmpeg can only do in a file: bytes from stdin or a download are
 * written to a private temporary file first, removed again when the caller is done.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TempVideoFile {
  path: string;
  /** Removes the file and its folder; safe to call twice. */
  dispose: () => Promise<void>;
}

/** Writes `bytes` to a new file readable only by this user (extension from the sniffed container, if any). */
export async function writeTempVideo(bytes: Uint8Array, extension = 'video'): Promise<TempVideoFile> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-video-'));
  const file = path.join(dir, `input.${extension.replace(/[^a-z0-9]/gi, '') || 'video'}`);
  try {
    await writeFile(file, bytes, { mode: 0o600 });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { path: file, dispose: () => rm(dir, { recursive: true, force: true }) };
}

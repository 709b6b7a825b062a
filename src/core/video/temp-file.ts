/**
 * Videos are read by seeking, which ffmpeg can only do in a file: bytes from stdin or a download are
 * written to a private temporary file first, removed again when the caller is done (or, at the
 * latest, when the process exits).
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TempVideoFile {
  path: string;
  /** Removes the file and its folder; safe to call twice. */
  dispose: () => Promise<void>;
}

/** Folders still to remove when the process exits (a caller that never disposed, Ctrl+C). */
const pending = new Set<string>();
let exitHook = false;

function removeOnExit(dir: string): void {
  pending.add(dir);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const folder of pending) rmSync(folder, { recursive: true, force: true });
  });
}

/** Writes `bytes` to a new file readable only by this user (extension from the sniffed container, if any). */
export async function writeTempVideo(bytes: Uint8Array, extension = 'video'): Promise<TempVideoFile> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'smolvlm-video-'));
  const file = path.join(dir, `input.${extension.replace(/[^a-z0-9]/gi, '') || 'video'}`);
  const dispose = async (): Promise<void> => {
    pending.delete(dir);
    await rm(dir, { recursive: true, force: true });
  };
  removeOnExit(dir);
  try {
    await writeFile(file, bytes, { mode: 0o600 });
  } catch (error) {
    await dispose();
    throw error;
  }
  return { path: file, dispose };
}

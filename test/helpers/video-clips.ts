/**
 * Short test clips made with the same ffmpeg the code uses (lavfi's `testsrc`: colour bars, a moving
 * gradient and a frame counter), written to a temporary folder. Tiny frames keep them fast to make.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveFfmpeg } from '../../src/core/video/index.js';

export interface ClipSpec {
  /** File name, with the container's extension. */
  name: string;
  /** lavfi frame rate: an integer or a fraction ("30000/1001"). */
  rate: string;
  seconds: number;
  size?: string;
  /** Encoder arguments (default: H.264). */
  codec?: string[];
}

export const H264 = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-preset', 'ultrafast'];
/** Lossless RGB, so decoded pixels are exactly testsrc's (pixel goldens do not depend on a lossy codec). */
export const LOSSLESS_RGB = ['-c:v', 'ffv1', '-pix_fmt', 'bgr0'];

export function makeClip(dir: string, spec: ClipSpec): string {
  const file = path.join(dir, spec.name);
  const source = `testsrc=size=${spec.size ?? '64x48'}:rate=${spec.rate}:duration=${spec.seconds}`;
  const args = ['-hide_banner', '-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', source, ...(spec.codec ?? H264), file];
  const run = spawnSync(resolveFfmpeg().path, args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`ffmpeg could not make ${spec.name}: ${run.stderr || run.error?.message}`);
  return file;
}

/** A temporary folder for clips, removed by `dispose`. */
export function clipDir(): { dir: string; dispose: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-clips-'));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

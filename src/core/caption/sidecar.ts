/**
 * Sidecar captions: `<image stem><ext>` beside each image (`.txt` by default, `.caption` for kohya's
 * scripts), written atomically so that a reader, or a run killed mid-write, never sees half a caption.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { SmolVLMError } from '../errors.js';

export { DEFAULT_SIDECAR_EXTENSION } from './defaults.js';

/** `txt` or `.txt` -> `.txt`; refuses an empty extension or one with a path separator (USAGE). */
export function normaliseSidecarExtension(extension: string): string {
  const withDot = extension.startsWith('.') ? extension : `.${extension}`;
  if (withDot === '.' || /[/\\\0]/.test(withDot)) {
    throw new SmolVLMError('USAGE', `sidecar extension must be a file name ending such as .txt or .caption, got ${JSON.stringify(extension)}`);
  }
  return withDot;
}

/** `photos/cat.jpg` with `.txt` -> `photos/cat.txt`. */
export function sidecarPath(image: string, extension: string): string {
  const parsed = path.parse(image);
  return path.join(parsed.dir, `${parsed.name}${extension}`);
}

/**
 * Writes `text` to `file` through a hidden temporary file in the same folder (same file system, so the
 * rename is atomic): synced, then renamed over the target. On failure the temporary file is removed.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    renamed = true;
  } finally {
    if (!renamed) await unlink(temp).catch(() => {});
  }
}

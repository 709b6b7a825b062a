/**
 * File-system errors in words: what a user reads instead of a bare `EACCES: permission denied, open '…'`.
 * The one place that maps Node's error codes to a reason (saving a transcript, writing a cache).
 */

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  EEXIST: 'it already exists',
  ENOSPC: 'no space left on the disk',
  EDQUOT: 'the disk quota is used up',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  ELOOP: 'too many symbolic links',
  EBUSY: 'it is busy',
};

/** Why a file-system call failed, in a few lower-case words (the error's own message for other errors). */
export function fsErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && REASONS[code]) return REASONS[code];
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

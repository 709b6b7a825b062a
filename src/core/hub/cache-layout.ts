/*
 * huggingface_hub's cache layout: where one repo's blobs, snapshots, refs, markers and locks live, and the refs
 * that map a revision to a commit.
 *
 *   <root>/models--org--name/blobs/<etag>                       file content, named by its ETag
 *   <root>/models--org--name/refs/<revision>                    the commit sha, no newline
 *   <root>/models--org--name/snapshots/<commit>/<path>          relative symlink into blobs/
 *   <root>/models--org--name/.no_exist/<commit>/<path>          empty marker: the repo has no such file
 *   <root>/.locks/models--org--name/<etag>.lock                 held while a blob is downloaded
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isCommitSha } from './model-reference.js';

/** `models--org--name` (huggingface_hub repo_folder_name). */
export function repoFolderName(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

/** `models--org--name` -> `org/name`, or undefined for anything else (datasets, spaces, stray files). */
export function repoFromFolderName(folder: string): string | undefined {
  if (!folder.startsWith('models--')) return undefined;
  const parts = folder.slice('models--'.length).split('--');
  return parts.length >= 1 && parts.every((p) => p !== '') ? parts.join('/') : undefined;
}

/** Paths of one repo inside a huggingface_hub cache root. */
/**
 * Random hex for scratch names, from the Web Crypto global: importing node:crypto here would load it
 * for every `smolvlm --help` (the CLI's `models` lists the cache through this module).
 */
function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}

export class RepoCache {
  readonly dir: string;
  readonly blobsDir: string;
  readonly locksDir: string;

  constructor(
    readonly root: string,
    readonly repo: string,
  ) {
    this.dir = path.join(root, repoFolderName(repo));
    this.blobsDir = path.join(this.dir, 'blobs');
    this.locksDir = path.join(root, '.locks', repoFolderName(repo));
  }

  blobPath(etag: string): string {
    return path.join(this.blobsDir, etag);
  }
  incompletePath(etag: string): string {
    return path.join(this.blobsDir, `${etag}.incomplete`);
  }
  lockPath(etag: string): string {
    return path.join(this.locksDir, `${etag}.lock`);
  }
  snapshotDir(commit: string): string {
    return path.join(this.dir, 'snapshots', commit);
  }
  snapshotFile(commit: string, file: string): string {
    return path.join(this.snapshotDir(commit), ...file.split('/'));
  }
  refPath(revision: string): string {
    return path.join(this.dir, 'refs', ...revision.split('/'));
  }
  noExistPath(commit: string, file: string): string {
    return path.join(this.dir, '.no_exist', commit, ...file.split('/'));
  }
  /** Scratch files live in the repo folder itself, where cache scanners never look. */
  tempPath(kind: string): string {
    return path.join(this.dir, `.${kind}-${process.pid}-${randomHex(6)}.tmp`);
  }
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** The commit a revision points at: the revision itself when it is a sha, else `refs/<revision>`. */
export async function resolveCachedRevision(cache: RepoCache, revision: string): Promise<string | undefined> {
  if (isCommitSha(revision)) return revision;
  try {
    const commit = (await fs.readFile(cache.refPath(revision), 'utf8')).trim();
    return isCommitSha(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `refs/<revision>` atomically (tmp + rename), as the bare sha without a newline. */
export async function writeRef(cache: RepoCache, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const target = cache.refPath(revision);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = cache.tempPath('ref');
  await fs.writeFile(tmp, commit);
  try {
    await fs.rename(tmp, target);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    throw error;
  }
}

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SmolVLMError } from '../errors.js';
import { RepoCache } from './cache-layout.js';
import { hubCacheDir } from './env.js';
import { readRefs, scanSnapshot, snapshotCommits, type CacheOptions } from './cache-list.js';
import { liveLocks, lockBusyError } from './lock.js';
import { formatRef, isCommitSha, parseModelReference } from './model-reference.js';

export interface RemoveOptions extends CacheOptions {
  /** Remove only this revision (branch, tag, commit or a unique commit prefix); `ref@rev` does the same. */
  revision?: string;
  /** Report what would be removed without removing anything. */
  dryRun?: boolean;
}

export interface RemoveResult {
  repo: string;
  /** The whole repo folder went (no revision given, or its last snapshot was removed). */
  removedRepo: boolean;
  /** Commits whose snapshots were removed. */
  commits: string[];
  /** Ref names removed. */
  refs: string[];
  /** Blobs removed. */
  blobs: number;
  freedBytes: number;
  dryRun: boolean;
}

async function duBytes(dir: string): Promise<number> {
  let total = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await duBytes(p);
    else if (e.isFile()) total += (await fs.lstat(p)).size;
  }
  return total;
}

async function findCommit(cache: RepoCache, revision: string, commits: string[]): Promise<string | undefined> {
  if (isCommitSha(revision)) return commits.includes(revision) ? revision : undefined;
  try {
    const c = (await fs.readFile(cache.refPath(revision), 'utf8')).trim();
    if (commits.includes(c)) return c;
  } catch {
    // not a ref name
  }
  if (/^[0-9a-f]{7,39}$/.test(revision)) {
    const matches = commits.filter((c) => c.startsWith(revision));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw new SmolVLMError('USAGE', `revision prefix "${revision}" is ambiguous in ${cache.repo}`);
  }
  return undefined;
}

/**
 * Removes a cached Hub model. Without a revision the repo's folder and its lock folder go entirely. With one, its
 * snapshot, the refs pointing at it and its `.no_exist` markers go, and only the blobs no other snapshot links.
 */
export async function removeCachedModel(ref: string, options: RemoveOptions = {}): Promise<RemoveResult> {
  const parsed = parseModelReference(ref);
  if (parsed.kind !== 'hub') {
    throw new SmolVLMError('USAGE', `"${ref}" is not a Hub model (org/name or an alias); only cached Hub models can be removed`);
  }
  const revision = parsed.revision ?? options.revision;
  const root = options.cacheDir ?? hubCacheDir(options.env);
  const cache = new RepoCache(root, parsed.repo);
  const dryRun = options.dryRun ?? false;
  try {
    await fs.access(cache.dir);
  } catch {
    throw new SmolVLMError('MODEL_NOT_FOUND', `${parsed.repo} is not in the cache ${root}`);
  }
  const busy = await liveLocks(cache.locksDir);
  if (busy.length > 0) throw lockBusyError(parsed.repo, busy);

  const commits = await snapshotCommits(cache);
  const refs = await readRefs(cache);
  const base: RemoveResult = { repo: parsed.repo, removedRepo: false, commits: [], refs: [], blobs: 0, freedBytes: 0, dryRun };

  let target: string | undefined;
  if (revision !== undefined) {
    target = await findCommit(cache, revision, commits);
    if (!target) throw new SmolVLMError('MODEL_NOT_FOUND', `${formatRef(parsed.repo, revision)} is not in the cache ${root}`);
  }

  if (target === undefined || commits.every((c) => c === target)) {
    let blobs = 0;
    try {
      blobs = (await fs.readdir(cache.blobsDir)).filter((n) => !n.endsWith('.incomplete')).length;
    } catch {
      // no blobs
    }
    const result: RemoveResult = {
      ...base,
      removedRepo: true,
      commits,
      refs: [...refs.values()].flat(),
      blobs,
      freedBytes: await duBytes(cache.dir),
    };
    if (!dryRun) {
      await fs.rm(cache.dir, { recursive: true, force: true });
      await fs.rm(cache.locksDir, { recursive: true, force: true });
    }
    return result;
  }

  const keep = new Set<string>();
  for (const c of commits) {
    if (c === target) continue;
    for (const f of (await scanSnapshot(cache, c)).files) if (f.blob) keep.add(f.blob);
  }
  const doomed = new Map<string, number>();
  let freedBytes = 0;
  for (const f of (await scanSnapshot(cache, target)).files) {
    if (!f.blob) freedBytes += f.size;
    else if (!keep.has(f.blob) && !doomed.has(f.blob)) doomed.set(f.blob, f.size);
  }
  for (const size of doomed.values()) freedBytes += size;
  const refNames = refs.get(target) ?? [];
  const result: RemoveResult = { ...base, commits: [target], refs: refNames, blobs: doomed.size, freedBytes };
  if (dryRun) return result;
  // snapshot and refs first: a crash midway leaves unreferenced blobs, never a link to a missing blob
  for (const name of refNames) await fs.rm(cache.refPath(name), { force: true });
  await fs.rm(cache.snapshotDir(target), { recursive: true, force: true });
  await fs.rm(path.join(cache.dir, '.no_exist', target), { recursive: true, force: true });
  for (const blob of doomed.keys()) await fs.rm(cache.blobPath(blob), { force: true });
  return result;
}

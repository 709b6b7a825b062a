/*
 * One snapshot of a repo in the cache: which files it has, the markers of files the repo lacks, and linking a
 * downloaded blob into it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isDataPartOf, sortDataParts } from '../model-files/dtypes.js';
import { pathExists, type RepoCache } from './cache-layout.js';

/** True when the snapshot entry exists and leads to a regular file (a symlink to a present blob). */
export async function isInSnapshot(cache: RepoCache, commit: string, file: string): Promise<boolean> {
  try {
    return (await fs.stat(cache.snapshotFile(commit, file))).isFile();
  } catch {
    return false;
  }
}

export async function hasNoExistMarker(cache: RepoCache, commit: string, file: string): Promise<boolean> {
  return pathExists(cache.noExistPath(commit, file));
}

export async function writeNoExistMarker(cache: RepoCache, commit: string, file: string): Promise<void> {
  const marker = cache.noExistPath(commit, file);
  await fs.mkdir(path.dirname(marker), { recursive: true });
  await fs.writeFile(marker, '');
}

/**
 * Points `snapshots/<commit>/<file>` at `blobs/<etag>` with a relative symlink (replacing a stale entry atomically).
 * Where symlinks are not allowed (Windows without developer mode) the blob is copied instead.
 */
export async function linkIntoSnapshot(cache: RepoCache, commit: string, file: string, etag: string): Promise<void> {
  const linkPath = cache.snapshotFile(commit, file);
  const blob = cache.blobPath(etag);
  await fs.mkdir(path.dirname(linkPath), { recursive: true });
  const target = path.relative(path.dirname(linkPath), blob);
  try {
    await fs.symlink(target, linkPath);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EACCES') {
      if (await pathExists(linkPath)) return;
      await fs.copyFile(blob, linkPath);
      return;
    }
    if (code !== 'EEXIST') throw error;
  }
  try {
    if ((await fs.readlink(linkPath)) === target) return;
  } catch {
    // a regular file (copy fallback or another tool): replaced below like a stale link
  }
  const tmp = cache.tempPath('link');
  await fs.symlink(target, tmp);
  try {
    await fs.rename(tmp, linkPath);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    throw error;
  }
}

/** The external-data parts of `onnxFile` present in a snapshot, in download order. */
export async function presentDataParts(cache: RepoCache, commit: string, onnxFile: string): Promise<string[]> {
  const dir = path.dirname(cache.snapshotFile(commit, onnxFile));
  const base = path.posix.basename(onnxFile);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const present: string[] = [];
  for (const n of sortDataParts(names.filter((n) => isDataPartOf(n, base)))) {
    const file = `${path.posix.dirname(onnxFile)}/${n}`;
    if (await isInSnapshot(cache, commit, file)) present.push(file);
  }
  return present;
}

/** The session files present in a snapshot's onnx/ folder (repo paths). */
export async function snapshotOnnxFiles(cache: RepoCache, commit: string): Promise<Set<string>> {
  const present = new Set<string>();
  let names: string[] = [];
  try {
    names = await fs.readdir(path.join(cache.snapshotDir(commit), 'onnx'));
  } catch {
    // no onnx/ folder
  }
  for (const n of names) if (n.endsWith('.onnx') && (await isInSnapshot(cache, commit, `onnx/${n}`))) present.add(`onnx/${n}`);
  return present;
}

/**
 * Re-hashes the blobs of the Hugging Face cache against their names, which are the Hub's ETags: a
 * 64-hex name is the content's sha256 (LFS and xet files), a 40-hex one its git blob sha1 (small files),
 * the same check a download makes (verify.ts). Corruption after a download (a disk error, a file edited
 * by hand) otherwise goes unnoticed, as in huggingface_hub. With `fix`, a bad blob is moved aside as
 * `<blob>.corrupt`: the snapshot links then lead nowhere, so the next run downloads the file again;
 * nothing else in the cache is touched.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SmolVLMError } from '../errors.js';
import { RepoCache, repoFromFolderName } from './cache-layout.js';
import { scanSnapshot, snapshotCommits, type CacheOptions } from './cache-list.js';
import { hubCacheDir } from './env.js';
import { ContentVerifier } from './verify.js';

export interface VerifyCacheOptions extends CacheOptions {
  /** Only this repo (`org/name`); default every model repo of the cache. */
  repo?: string;
  /** Move bad blobs aside (`<blob>.corrupt`) so that the next run downloads them again. */
  fix?: boolean;
  /** Called before each blob is hashed (large blobs take seconds). */
  onBlob?: (repo: string, blob: string, size: number) => void;
}

export interface BadBlob {
  repo: string;
  /** The blob's name: the hash its content should have. */
  blob: string;
  /** Path of the blob file. */
  path: string;
  /** Repo paths (`onnx/decoder_model_merged_int8.onnx`) that link to it, in any snapshot. */
  files: string[];
  kind: 'sha256' | 'git-sha1';
  /** The hash the content has. */
  found: string;
  /** Where --fix moved it, when it did. */
  movedTo?: string;
}

export interface CacheVerifyResult {
  cacheDir: string;
  repos: string[];
  /** Blobs hashed, and their bytes. */
  checked: number;
  bytes: number;
  /** Blobs whose name is not a hash (nothing to check them against). */
  skipped: number;
  bad: BadBlob[];
}

/** blob name -> repo paths linking to it, over every snapshot of the repo. */
async function filesByBlob(cache: RepoCache): Promise<Map<string, string[]>> {
  const byBlob = new Map<string, string[]>();
  for (const commit of await snapshotCommits(cache)) {
    for (const file of (await scanSnapshot(cache, commit)).files) {
      if (!file.blob) continue;
      const list = byBlob.get(file.blob) ?? [];
      if (!list.includes(file.path)) list.push(file.path);
      byBlob.set(file.blob, list);
    }
  }
  return byBlob;
}

/** The complete blobs of a repo (interrupted downloads and blobs already moved aside left out). */
async function blobNames(cache: RepoCache): Promise<string[]> {
  try {
    const entries = await fs.readdir(cache.blobsDir, { withFileTypes: true });
    return entries.filter((e) => e.isFile() && !e.name.endsWith('.incomplete') && !e.name.endsWith('.corrupt')).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

async function verifyRepo(cache: RepoCache, options: VerifyCacheOptions, result: CacheVerifyResult): Promise<void> {
  const linked = await filesByBlob(cache);
  for (const blob of await blobNames(cache)) {
    const file = cache.blobPath(blob);
    const { size } = await fs.stat(file);
    const verifier = new ContentVerifier(blob, size);
    if (verifier.kind === 'size-only') {
      result.skipped++;
      continue;
    }
    options.onBlob?.(cache.repo, blob, size);
    await verifier.updateFromFile(file, size);
    result.checked++;
    result.bytes += size;
    const mismatch = verifier.mismatch();
    if (mismatch === undefined) continue;
    const bad: BadBlob = { repo: cache.repo, blob, path: file, files: linked.get(blob) ?? [], kind: verifier.kind, found: mismatch.split(' ')[1] ?? mismatch };
    if (options.fix) {
      bad.movedTo = `${file}.corrupt`;
      await fs.rename(file, bad.movedTo);
    }
    result.bad.push(bad);
  }
}

/** Repos to check: `repo` alone (an error when the cache has no folder for it), else every model repo. */
async function reposToVerify(root: string, repo: string | undefined): Promise<string[]> {
  if (repo !== undefined) {
    const cache = new RepoCache(root, repo);
    const present = await fs.stat(cache.dir).then((st) => st.isDirectory(), () => false);
    if (!present) throw new SmolVLMError('MODEL_NOT_FOUND', `${repo} is not in the cache ${root}`);
    return [repo];
  }
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch {
    return [];
  }
  return names.sort().flatMap((name) => repoFromFolderName(name) ?? []);
}

/** Hashes every blob of the cache (or of one repo) against its name; see the module comment. */
export async function verifyCachedBlobs(options: VerifyCacheOptions = {}): Promise<CacheVerifyResult> {
  const cacheDir = options.cacheDir ?? hubCacheDir(options.env);
  const repos = await reposToVerify(cacheDir, options.repo);
  const result: CacheVerifyResult = { cacheDir, repos, checked: 0, bytes: 0, skipped: 0, bad: [] };
  for (const repo of repos) await verifyRepo(new RepoCache(cacheDir, repo), options, result);
  return result;
}

/** Where a bad blob's content came from, for messages: its repo paths, else the blob path. */
export function describeBadBlob(bad: BadBlob): string {
  const names = bad.files.length > 0 ? bad.files.join(', ') : path.basename(bad.path);
  return `${bad.repo} ${names}: content does not match its ${bad.kind} (blob ${bad.blob.slice(0, 12)}…, found ${bad.found.slice(0, 12)}…)`;
}

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { aliasOfRepo } from './aliases.js';
import { RepoCache, repoFromFolderName } from './cache-layout.js';
import { CANONICAL_DTYPES, dtypesPresent, type Dtype, type SessionName } from '../model-files/dtypes.js';
import { hubCacheDir, type Env } from './env.js';
import { REQUIRED_FILES } from '../model-files/directory.js';
import { isCommitSha } from './model-reference.js';

export interface CacheOptions {
  cacheDir?: string;
  env?: Env;
}

export interface CachedFile {
  /** Path inside the repo (`onnx/embed_tokens_q4.onnx`). */
  path: string;
  size: number;
  /** Blob name (the etag) when the entry is a symlink into blobs/. */
  blob?: string;
}

export interface CachedRevision {
  commit: string;
  /** Revisions (branches, tags, `refs/pr/N`) whose ref file points at this commit. */
  refs: string[];
  path: string;
  /** Bytes of the files of this snapshot (each blob counted once). */
  size: number;
  files: CachedFile[];
  /** dtypes with all three sessions present. */
  dtypes: Dtype[];
  /** dtypes present per session. */
  sessions: Record<SessionName, Dtype[]>;
  /** All the configuration/tokenizer files are present. */
  complete: boolean;
  /** Entries that point at a missing blob. */
  broken: string[];
  lastModified: Date;
}

export interface CachedModel {
  repo: string;
  alias?: string;
  path: string;
  /** Bytes in blobs/ (complete blobs) plus snapshot files that are not symlinks. */
  sizeOnDisk: number;
  /** Bytes of interrupted downloads (`*.incomplete`), kept for resuming. */
  incompleteBytes: number;
  revisions: CachedRevision[];
  /** Union of the revisions' complete dtypes. */
  dtypes: Dtype[];
  /** Some revision has the configuration files and at least one complete dtype. */
  usable: boolean;
  lastModified: Date;
}

async function walkFiles(dir: string, prefix = ''): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walkFiles(path.join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out;
}

/** commit -> revision names, from the files under refs/. */
export async function readRefs(cache: RepoCache): Promise<Map<string, string[]>> {
  const byCommit = new Map<string, string[]>();
  const refsDir = path.join(cache.dir, 'refs');
  for (const name of await walkFiles(refsDir)) {
    try {
      const commit = (await fs.readFile(path.join(refsDir, ...name.split('/')), 'utf8')).trim();
      if (isCommitSha(commit)) byCommit.set(commit, [...(byCommit.get(commit) ?? []), name]);
    } catch {
      // unreadable ref: ignored
    }
  }
  return byCommit;
}

export async function snapshotCommits(cache: RepoCache): Promise<string[]> {
  try {
    return (await fs.readdir(path.join(cache.dir, 'snapshots'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** Files of one snapshot with their sizes and blob names. */
export async function scanSnapshot(cache: RepoCache, commit: string): Promise<{ files: CachedFile[]; broken: string[]; mtimeMs: number }> {
  const dir = cache.snapshotDir(commit);
  const files: CachedFile[] = [];
  const broken: string[] = [];
  let mtimeMs = 0;
  for (const rel of await walkFiles(dir)) {
    const full = path.join(dir, ...rel.split('/'));
    try {
      const lst = await fs.lstat(full);
      let blob: string | undefined;
      if (lst.isSymbolicLink()) {
        const target = path.resolve(path.dirname(full), await fs.readlink(full));
        if (path.dirname(target) === cache.blobsDir) blob = path.basename(target);
      }
      const st = await fs.stat(full);
      mtimeMs = Math.max(mtimeMs, st.mtimeMs);
      files.push({ path: rel, size: st.size, ...(blob ? { blob } : {}) });
    } catch {
      broken.push(rel);
    }
  }
  return { files, broken, mtimeMs };
}

function dtypesOf(files: CachedFile[]): { dtypes: Dtype[]; sessions: Record<SessionName, Dtype[]> } {
  const onnxFolder = files.map((f) => f.path).filter((p) => p.startsWith('onnx/') && p.indexOf('/', 5) === -1);
  const { sessions, complete } = dtypesPresent(onnxFolder.map((p) => p.slice(5)));
  return { dtypes: complete, sessions };
}

/** One cached repo, or undefined when the cache has no folder for it. */
export async function inspectCachedRepo(root: string, repo: string): Promise<CachedModel | undefined> {
  const cache = new RepoCache(root, repo);
  let repoStat;
  try {
    repoStat = await fs.stat(cache.dir);
  } catch {
    return undefined;
  }
  if (!repoStat.isDirectory()) return undefined;
  const refs = await readRefs(cache);
  const revisions: CachedRevision[] = [];
  let nonBlobBytes = 0;
  for (const commit of await snapshotCommits(cache)) {
    const { files, broken, mtimeMs } = await scanSnapshot(cache, commit);
    const seen = new Set<string>();
    let size = 0;
    for (const f of files) {
      if (f.blob) {
        if (seen.has(f.blob)) continue;
        seen.add(f.blob);
      } else nonBlobBytes += f.size;
      size += f.size;
    }
    const names = new Set(files.map((f) => f.path));
    revisions.push({
      commit,
      refs: refs.get(commit) ?? [],
      path: cache.snapshotDir(commit),
      size,
      files,
      ...dtypesOf(files),
      complete: REQUIRED_FILES.every((f) => names.has(f)),
      broken,
      lastModified: new Date(mtimeMs || repoStat.mtimeMs),
    });
  }
  revisions.sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime());
  let blobBytes = 0;
  let incompleteBytes = 0;
  try {
    for (const e of await fs.readdir(cache.blobsDir, { withFileTypes: true })) {
      if (!e.isFile()) continue;
      const st = await fs.stat(path.join(cache.blobsDir, e.name));
      if (e.name.endsWith('.incomplete')) incompleteBytes += st.size;
      else blobBytes += st.size;
    }
  } catch {
    // no blobs/ yet
  }
  const dtypes = CANONICAL_DTYPES.filter((d) => revisions.some((r) => r.dtypes.includes(d)));
  const alias = aliasOfRepo(repo);
  return {
    repo,
    ...(alias ? { alias } : {}),
    path: cache.dir,
    sizeOnDisk: blobBytes + nonBlobBytes,
    incompleteBytes,
    revisions,
    dtypes,
    usable: revisions.some((r) => r.complete && r.dtypes.length > 0),
    lastModified: revisions[0]?.lastModified ?? repoStat.mtime,
  };
}

/** Every model repo in the Hub cache (`models--*`), sorted by repo id. Other tools' repos are included: filter on `usable`. */
export async function listCachedModels(options: CacheOptions = {}): Promise<CachedModel[]> {
  const root = options.cacheDir ?? hubCacheDir(options.env);
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch {
    return [];
  }
  const models: CachedModel[] = [];
  for (const name of names.sort()) {
    const repo = repoFromFolderName(name);
    if (!repo) continue;
    const model = await inspectCachedRepo(root, repo);
    if (model) models.push(model);
  }
  return models;
}

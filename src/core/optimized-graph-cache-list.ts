/**
 * The optimized-graph cache seen from outside (`smolvlm models`, `rm`, `models --prune`): its entries,
 * the model each was made from, whether that source is still there, and their removal.
 *
 * Each entry is a saved graph `<name>.onnx`, its weights file and its sidecar `<name>.onnx.json`
 * naming the source file (optimized-graph-cache.ts). An entry belongs to a Hub model when its source
 * lies in that model's cache folder (`models--org--name`, which holds the blobs and the snapshots'
 * links to them), else to the local model folder it was loaded from.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { defaultOptimizedGraphCacheDir } from './optimized-graph-cache-dir.js';
import type { OptimizedGraphSource } from './optimized-graph-cache.js';
import { isRecord } from './untyped.js';

export interface OptimizedGraphEntry {
  /** The saved graph. */
  file: string;
  /** Every file of the entry: the graph, its weights, its sidecar. */
  files: string[];
  /** Bytes on disk of all its files. */
  size: number;
  /** The source model file, as loaded (before symlinks) when recorded, else its real path. */
  source: string;
  /** The Hub repo id (`org/name`) of the source, when it lies in the Hub cache. */
  repo?: string;
  /** The local model folder of the source, when it is not a Hub model. */
  modelDir?: string;
  /** False when the source file is gone or changed since: the entry can no longer be used. */
  sourcePresent: boolean;
  /** When it was last used (its sidecar is touched on each use). */
  lastUsed: Date;
}

/** Tells which Hub repo a path in the Hub cache belongs to (`…/models--org--name/…` -> `org/name`). */
export function hubRepoOfPath(file: string): string | undefined {
  const folder = file.split(/[\\/]/).find((part) => part.startsWith('models--'));
  const parts = folder?.slice('models--'.length).split('--');
  return parts && parts.length === 2 && parts.every((p) => p !== '') ? parts.join('/') : undefined;
}

function readSource(sidecar: string): OptimizedGraphSource | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(sidecar, 'utf8'));
    if (!isRecord(value) || typeof value.path !== 'string' || typeof value.size !== 'number' || typeof value.mtimeMs !== 'number') return undefined;
    const link = typeof value.link === 'string' ? value.link : undefined;
    const data = typeof value.data === 'string' && !/[\\/]/.test(value.data) ? value.data : undefined;
    return { path: value.path, size: value.size, mtimeMs: value.mtimeMs, ...(link ? { link } : {}), ...(data ? { data } : {}) };
  } catch {
    return undefined;
  }
}

function sizeOf(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/** `<dir>/onnx/x.onnx` -> `<dir>` (the official layout), else the file's folder. */
function modelDirOf(file: string): string {
  const dir = path.dirname(file);
  return path.basename(dir) === 'onnx' ? path.dirname(dir) : dir;
}

function entryOf(cacheDir: string, sidecarName: string): OptimizedGraphEntry | undefined {
  const sidecar = path.join(cacheDir, sidecarName);
  const source = readSource(sidecar);
  if (!source) return undefined;
  const file = sidecar.slice(0, -'.json'.length);
  const files = [file, ...(source.data ? [path.join(cacheDir, source.data)] : []), sidecar];
  const st = statSync(source.path, { throwIfNoEntry: false });
  const repo = hubRepoOfPath(source.path) ?? (source.link ? hubRepoOfPath(source.link) : undefined);
  const shown = source.link ?? source.path;
  return {
    file,
    files,
    size: files.reduce((n, f) => n + sizeOf(f), 0),
    source: shown,
    ...(repo ? { repo } : { modelDir: modelDirOf(shown) }),
    sourcePresent: st !== undefined && st.size === source.size && st.mtimeMs === source.mtimeMs,
    lastUsed: statSync(sidecar, { throwIfNoEntry: false })?.mtime ?? new Date(0),
  };
}

/** The entries of the optimized-graph cache, sorted by source; none when the folder does not exist. */
export function listOptimizedGraphs(cacheDir: string = defaultOptimizedGraphCacheDir()): OptimizedGraphEntry[] {
  let names: string[];
  try {
    names = readdirSync(cacheDir);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.onnx.json'))
    .map((name) => entryOf(cacheDir, name))
    .filter((e): e is OptimizedGraphEntry => e !== undefined)
    .sort((a, b) => a.source.localeCompare(b.source));
}

/** The entries made from a Hub repo's files (repo ids compare case-insensitively, as the Hub does). */
export function optimizedGraphsOfRepo(entries: readonly OptimizedGraphEntry[], repo: string): OptimizedGraphEntry[] {
  const wanted = repo.toLowerCase();
  return entries.filter((e) => e.repo?.toLowerCase() === wanted);
}

export interface OptimizedGraphRemoval {
  entries: number;
  freedBytes: number;
  dryRun: boolean;
}

/** Removes entries with all their files (`dryRun`: only counts them). */
export function removeOptimizedGraphs(entries: readonly OptimizedGraphEntry[], options: { dryRun?: boolean } = {}): OptimizedGraphRemoval {
  const dryRun = options.dryRun === true;
  if (!dryRun) for (const entry of entries) for (const file of entry.files) rmSync(file, { force: true });
  return { entries: entries.length, freedBytes: entries.reduce((n, e) => n + e.size, 0), dryRun };
}

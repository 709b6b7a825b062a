/**
 * The optimized-graph cache: sessions made through a cache of prepared model files.
 *
 * A model file is prepared once per machine: optionally rewritten (the decoder's last-position logits,
 * graph-patch.ts), then optimized by onnxruntime (fusions, constant folding, layout changes), and the
 * optimized graph saved. Later loads read the saved graph with optimizations off, which skips that
 * work (onnxruntime's documented offline-optimization workflow). Entries are keyed by the source
 * file's identity (real path, size, mtime, inode), the rewrite's version, the onnxruntime version and
 * the CPU (the saved graph may use CPU-specific layouts), and written atomically into the cache folder,
 * never beside the original, with a sidecar `<entry>.json` naming the source (see prune). When anything
 * fails, the original file is loaded as it is.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { fsErrorReason } from './fs-errors.js';
import { onnxRuntime } from './lazy-modules.js';
import { defaultOptimizedGraphCacheDir } from './optimized-graph-cache-dir.js';

export { defaultOptimizedGraphCacheDir };

/**
 * The cache folder to use for a load: `cacheDir` (default defaultOptimizedGraphCacheDir()) when it can
 * be created and written, else false, with one warning naming the folder (a read-only or missing HOME
 * in a container, SMOLVLM_CACHE naming a file). The cache is an optimization: without it the model
 * files load as they are, only more slowly.
 */
export function usableOptimizedGraphCacheDir(cacheDir: string | false | undefined, onWarning?: (message: string) => void): string | false {
  if (cacheDir === false) return false;
  const dir = cacheDir ?? defaultOptimizedGraphCacheDir();
  const probe = tempName(path.join(dir, 'write-check'));
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
    return dir;
  } catch (error) {
    onWarning?.(`cannot write the optimized-graph cache ${dir} (${fsErrorReason(error)}); loading the model files as they are, more slowly (set SMOLVLM_CACHE to a writable folder)`);
    return false;
  }
}

/** Bump when what an entry holds changes (2: weights and prepacked weights in a data file). */
const CACHE_FORMAT = 'format-2';

let cpuTagValue: string | undefined;
/** The CPU model and feature flags (the saved graph may depend on the vector width). */
function cpuTag(): string {
  if (cpuTagValue) return cpuTagValue;
  let flags = '';
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux: the model name must do
  }
  cpuTagValue = `${os.arch()} ${os.cpus()[0]?.model ?? ''} ${flags}`;
  return cpuTagValue;
}

/** A rewrite of the source file before it is optimized (graph-patch.ts). */
export interface GraphRewrite {
  /** Names the rewrite in cache keys; change it when the rewrite changes. */
  tag: string;
  /** Writes the rewritten model to `target`; returns undefined, or why it does not apply (nothing written). */
  write: (source: string, target: string) => string | undefined;
}

export interface OptimizedSessionOptions extends ort.InferenceSession.SessionOptions {
  /** Cache folder, or false for no cache (the file is loaded as it is, without the rewrite). */
  cacheDir?: string | false;
  rewrite?: GraphRewrite;
}

export interface OptimizedSession {
  session: ort.InferenceSession;
  /** The file the session came from. */
  loadedFrom: string;
  /** Whether the rewrite is in effect. */
  rewritten: boolean;
}

/** An entry's sidecar (`<entry>.onnx.json`). `link` is absent in entries of earlier versions. */
export interface OptimizedGraphSource {
  path: string;
  size: number;
  mtimeMs: number;
  link?: string;
  /** The entry's weights file, beside it. */
  data?: string;
}

interface CacheEntry {
  dir: string;
  /** Cache file of this source, rewrite and runtime. */
  file: string;
  /** Names of other entries of the same source file start with this. */
  prefix: string;
  /**
   * What the entry was made from, written beside it as `<file>.json` (for pruning, and for `models`
   * and `rm` to tell which model it belongs to): the real path, and the path as loaded (`link`, the
   * model folder's file before symlinks, e.g. a Hub snapshot's link to its blob).
   */
  source: OptimizedGraphSource;
}

function cacheEntryFor(source: string, dir: string, rewriteTag: string): CacheEntry {
  const real = realpathSync(source);
  const st = statSync(real);
  const sourceId = createHash('sha256').update(real).digest('hex').slice(0, 16);
  const key = createHash('sha256')
    .update([CACHE_FORMAT, real, st.size, st.mtimeMs, st.ino, rewriteTag, onnxRuntime().env.versions.node ?? '', cpuTag()].join('\0'))
    .digest('hex')
    .slice(0, 24);
  const base = path.basename(source, '.onnx').replace(/[^A-Za-z0-9_.-]/g, '_');
  return {
    dir,
    file: path.join(dir, `${base}-${sourceId}-${key}.onnx`),
    prefix: `${base}-${sourceId}-`,
    source: { path: real, size: st.size, mtimeMs: st.mtimeMs, link: path.resolve(source) },
  };
}

/** Entries of another key for the same source (other library or onnxruntime versions) unused this long are removed. */
const UNUSED_MS = 14 * 24 * 3600 * 1000;

/**
 * Removes entries that can no longer be used: entries whose source file is gone or changed (models in
 * temporary folders, replaced downloads), other entries of the same source unused for two weeks, and
 * leftovers of interrupted writes older than a day. An entry's sidecar is touched whenever it is used.
 */
function prune(entry: CacheEntry): void {
  const now = Date.now();
  const dayAgo = now - 24 * 3600 * 1000;
  const names = readdirSync(entry.dir);
  const referenced = new Set<string>();
  for (const name of names) {
    const file = path.join(entry.dir, name);
    try {
      if (name.endsWith('.tmp')) {
        if (statSync(file).mtimeMs < dayAgo) rmSync(file, { force: true });
        continue;
      }
      if (!name.endsWith('.onnx.json')) continue;
      const source = JSON.parse(readFileSync(file, 'utf8')) as OptimizedGraphSource;
      const ownData = source.data && !source.data.includes('/') && !source.data.includes('\\') ? source.data : undefined;
      const st = statSync(source.path, { throwIfNoEntry: false });
      const stale =
        file !== `${entry.file}.json` &&
        (!st || st.size !== source.size || st.mtimeMs !== source.mtimeMs || (name.startsWith(entry.prefix) && statSync(file).mtimeMs < now - UNUSED_MS));
      if (stale) {
        rmSync(file.slice(0, -'.json'.length), { force: true });
        if (ownData) rmSync(path.join(entry.dir, ownData), { force: true });
        rmSync(file, { force: true });
      } else if (ownData) referenced.add(ownData);
    } catch {
      // another process pruned it first, or it is not ours
    }
  }
  // Data files of entries another writer replaced.
  for (const name of names) {
    if (!name.endsWith('.data') || !name.includes('.onnx.') || referenced.has(name)) continue;
    try {
      const file = path.join(entry.dir, name);
      if (statSync(file).mtimeMs < dayAgo) rmSync(file, { force: true });
    } catch {
      // gone already
    }
  }
}

function tempName(file: string): string {
  return `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
}

/** External data is found relative to the model file, so a copy elsewhere would not find it. */
function hasExternalData(file: string): boolean {
  const dir = path.dirname(file);
  const base = path.basename(file);
  try {
    return readdirSync(dir).some((name) => name.startsWith(`${base}_data`) || name === `${base}.data`);
  } catch {
    return false;
  }
}

function loadAsIs(file: string, sessionOptions: ort.InferenceSession.SessionOptions): Promise<OptimizedSession> {
  return onnxRuntime().InferenceSession.create(file, sessionOptions).then((session) => ({ session, loadedFrom: file, rewritten: false }));
}

/** The saved optimized graph of an entry, or undefined when there is none (or it does not load: it is then removed). */
async function loadSaved(entry: CacheEntry, sessionOptions: ort.InferenceSession.SessionOptions, rewrite: GraphRewrite | undefined): Promise<OptimizedSession | undefined> {
  if (!existsSync(entry.file)) return undefined;
  try {
    const session = await onnxRuntime().InferenceSession.create(entry.file, { ...sessionOptions, graphOptimizationLevel: 'disabled' });
    try {
      const now = new Date();
      utimesSync(`${entry.file}.json`, now, now);
    } catch {
      // read-only cache: fine
    }
    return { session, loadedFrom: entry.file, rewritten: rewrite !== undefined };
  } catch {
    rmSync(entry.file, { force: true }); // unreadable: make it again
    return undefined;
  }
}

/** Writes the rewritten copy into the cache folder; undefined when the rewrite does not apply or fails. */
function writeRewrite(file: string, entry: CacheEntry, rewrite: GraphRewrite): string | undefined {
  const rewrittenFile = tempName(entry.file.replace(/\.onnx$/, '.rewritten.onnx'));
  try {
    if (rewrite.write(file, rewrittenFile) === undefined) return rewrittenFile;
  } catch {
    rmSync(rewrittenFile, { force: true });
  }
  return undefined;
}

/**
 * Makes a session from `source` (the file or its rewritten copy) with onnxruntime's optimizations on, saving the
 * optimized graph as the entry; a rewritten copy that does not load falls back to the original file.
 */
async function optimizeAndSave(file: string, source: string, entry: CacheEntry, sessionOptions: ort.InferenceSession.SessionOptions): Promise<OptimizedSession> {
  const saved = tempName(entry.file);
  // Weights go to a data file beside the entry, with onnxruntime's prepacked layouts included: loads
  // then map them instead of copying and repacking. Its name is unique to this writer (it is written
  // under its final name, which the saved graph refers to).
  const dataName = `${path.basename(entry.file)}.${process.pid}-${Math.random().toString(36).slice(2, 8)}.data`;
  let renamed = false;
  try {
    let session: ort.InferenceSession;
    try {
      // Warnings off: onnxruntime warns that a saved graph with layout optimizations is CPU-specific (the key says which CPU).
      session = await onnxRuntime().InferenceSession.create(source, {
        ...sessionOptions,
        optimizedModelFilePath: saved,
        logSeverityLevel: 3,
        extra: {
          ...sessionOptions.extra,
          session: {
            ...(sessionOptions.extra as { session?: Record<string, string> } | undefined)?.session,
            optimized_model_external_initializers_file_name: dataName,
            optimized_model_external_initializers_min_size_in_bytes: '1024',
            save_external_prepacked_constant_initializers: '1',
          },
        },
      });
    } catch (error) {
      if (source === file) throw error;
      // The rewritten graph did not load: use the original.
      return await loadAsIs(file, sessionOptions);
    }
    if (existsSync(saved)) {
      try {
        writeFileSync(`${entry.file}.json`, `${JSON.stringify({ ...entry.source, data: dataName })}\n`);
        renameSync(saved, entry.file);
        renamed = true;
        prune(entry);
      } catch {
        // another process won the race, or the folder is read-only: fine either way
      }
    }
    return { session, loadedFrom: source, rewritten: source !== file };
  } finally {
    rmSync(saved, { force: true });
    if (!renamed) rmSync(path.join(entry.dir, dataName), { force: true });
  }
}

/**
 * Creates a session for `file` through the optimized-graph cache: the saved optimized graph when there is one,
 * else the (rewritten) file, saving its optimized graph for next time.
 */
export async function createOptimizedSession(file: string, options: OptimizedSessionOptions): Promise<OptimizedSession> {
  const { cacheDir = defaultOptimizedGraphCacheDir(), rewrite, ...sessionOptions } = options;
  if (cacheDir === false || hasExternalData(file)) return loadAsIs(file, sessionOptions);
  let entry: CacheEntry;
  try {
    entry = cacheEntryFor(file, cacheDir, rewrite?.tag ?? 'none');
  } catch {
    return loadAsIs(file, sessionOptions);
  }
  const saved = await loadSaved(entry, sessionOptions, rewrite);
  if (saved) return saved;
  let rewrittenFile: string | undefined;
  try {
    mkdirSync(cacheDir, { recursive: true });
    if (rewrite) rewrittenFile = writeRewrite(file, entry, rewrite);
  } catch {
    // a read-only cache folder: the optimized graph will not be saved either
  }
  try {
    return await optimizeAndSave(file, rewrittenFile ?? file, entry, sessionOptions);
  } catch (error) {
    // Saving the optimized graph may be what failed (a cache folder that became unwritable): the
    // original file as it is, else the error of loading it.
    return await loadAsIs(file, sessionOptions).catch(() => Promise.reject(error));
  } finally {
    if (rewrittenFile) rmSync(rewrittenFile, { force: true });
  }
}

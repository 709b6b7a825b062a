/**
 * The optimized-graph cache in `models` (a column and a total line, JSON fields), `models --prune`
 * and `rm` (a model's entries go with it).
 */
import {
  defaultOptimizedGraphCacheDir,
  listOptimizedGraphs,
  optimizedGraphsOfRepo,
  removeOptimizedGraphs,
  type OptimizedGraphEntry,
  type OptimizedGraphRemoval,
} from '../../index.js';
import type { CliContext } from '../context.js';
import { formatSize } from '../progress.js';

export interface OptimizedGraphCache {
  dir: string;
  entries: OptimizedGraphEntry[];
}

export function readOptimizedGraphCache(env: NodeJS.ProcessEnv): OptimizedGraphCache {
  const dir = defaultOptimizedGraphCacheDir(env);
  return { dir, entries: listOptimizedGraphs(dir) };
}

const sum = (entries: readonly OptimizedGraphEntry[]) => entries.reduce((n, e) => n + e.size, 0);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The `OPTIMIZED` cell of a repo: the size of the graphs made from its files, or `-`. */
export function optimizedCell(cache: OptimizedGraphCache, repo: string): string {
  const mine = optimizedGraphsOfRepo(cache.entries, repo);
  return mine.length > 0 ? formatSize(sum(mine)) : '-';
}

/** `models --json`: a model's `optimized_graphs`. */
export function optimizedModelJson(cache: OptimizedGraphCache, repo: string): Record<string, unknown> {
  const mine = optimizedGraphsOfRepo(cache.entries, repo);
  return { entries: mine.length, size: sum(mine) };
}

function entryJson(e: OptimizedGraphEntry): Record<string, unknown> {
  return {
    file: e.file,
    size: e.size,
    source: e.source,
    ...(e.repo ? { repo: e.repo } : { model_dir: e.modelDir }),
    source_present: e.sourcePresent,
    last_used: e.lastUsed.toISOString(),
  };
}

/** `models --json`: the whole cache, with the entries whose sources are gone counted apart. */
export function optimizedCacheJson(cache: OptimizedGraphCache): Record<string, unknown> {
  const stale = cache.entries.filter((e) => !e.sourcePresent);
  return { dir: cache.dir, entries: cache.entries.length, size: sum(cache.entries), stale_entries: stale.length, stale_size: sum(stale), items: cache.entries.map(entryJson) };
}

/** The total line under the `models` table (nothing when the cache is empty). */
export function optimizedSummaryLine(cache: OptimizedGraphCache): string {
  if (cache.entries.length === 0) return '';
  const stale = cache.entries.filter((e) => !e.sourcePresent);
  const staleText = stale.length > 0 ? `; ${plural(stale.length, 'graph')} (${formatSize(sum(stale))}) of models no longer present: "smolvlm models --prune" removes them` : '';
  return `Optimized graphs (made on first load, to load faster): ${formatSize(sum(cache.entries))} in ${cache.dir}${staleText}\n`;
}

function removalJson(r: OptimizedGraphRemoval): Record<string, unknown> {
  return { entries: r.entries, freed_bytes: r.freedBytes, dry_run: r.dryRun };
}

/** `models --prune [--dry-run]`: removes the entries whose source files are gone or changed. */
export function pruneOptimizedGraphs(ctx: CliContext, dryRun: boolean): void {
  const cache = readOptimizedGraphCache(ctx.io.env);
  const result = removeOptimizedGraphs(
    cache.entries.filter((e) => !e.sourcePresent),
    { dryRun },
  );
  if (ctx.renderer.json) {
    ctx.renderer.writeJson({ optimized_graph_cache: cache.dir, pruned: removalJson(result) });
    return;
  }
  const what = `${plural(result.entries, 'optimized graph')} of models no longer present`;
  ctx.io.stdout.write(result.entries === 0 ? `Nothing to prune in ${cache.dir}\n` : `${dryRun ? 'Would remove' : 'Removed'} ${what}; ${dryRun ? 'would free' : 'freed'} ${formatSize(result.freedBytes)}\n`);
}

/**
 * `rm`: removes the optimized graphs made from a repo's files. With a revision only those whose source
 * is gone after the removal go (other snapshots may share the files); a dry run counts the repo's.
 */
export function removeRepoOptimizedGraphs(env: NodeJS.ProcessEnv, repo: string, options: { dryRun: boolean; wholeRepo: boolean }): OptimizedGraphRemoval {
  const mine = optimizedGraphsOfRepo(readOptimizedGraphCache(env).entries, repo);
  const targets = options.wholeRepo || options.dryRun ? mine : mine.filter((e) => !e.sourcePresent);
  return removeOptimizedGraphs(targets, { dryRun: options.dryRun });
}

/** `, and 3 optimized graphs (12 MiB)` after what rm says, or nothing. */
export function describeOptimizedRemoval(r: OptimizedGraphRemoval): string {
  return r.entries > 0 ? ` and ${plural(r.entries, 'optimized graph')} (${formatSize(r.freedBytes)})` : '';
}

export { removalJson as optimizedRemovalJson };

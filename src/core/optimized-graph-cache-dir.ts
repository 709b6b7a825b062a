/** Where the optimized-graph cache lives (its own module: listing the cache must not load onnxruntime). */
import os from 'node:os';
import path from 'node:path';

/** `$SMOLVLM_CACHE/optimized`, else `$XDG_CACHE_HOME/smolvlm/optimized`, else `~/.cache/smolvlm/optimized`. */
export function defaultOptimizedGraphCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SMOLVLM_CACHE) return path.resolve(env.SMOLVLM_CACHE, 'optimized');
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'smolvlm', 'optimized');
}

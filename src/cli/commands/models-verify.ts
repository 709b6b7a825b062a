/** `smolvlm models --verify [model] [--fix]`: re-hashes cached blobs against their names (core: hub/cache-verify.ts). */
import { describeBadBlob, hubCacheDir, parseModelReference, verifyCachedBlobs, type CacheVerifyResult } from '../../index.js';
import type { CliContext } from '../context.js';
import { EXIT_FAILURE, EXIT_OK, UsageError } from '../errors.js';
import { formatSize } from '../progress.js';

/** The repo id of the [model] argument (an alias or org/name; a revision is ignored: all are checked). */
function repoOf(model: string): string {
  const parsed = parseModelReference(model);
  if (parsed.kind !== 'hub') throw new UsageError(`"${model}" is a local path, not a Hub model: --verify checks the Hugging Face cache`);
  return parsed.repo;
}

function verifyJson(result: CacheVerifyResult, fix: boolean): Record<string, unknown> {
  return {
    cache_dir: result.cacheDir,
    repos: result.repos,
    checked: result.checked,
    bytes: result.bytes,
    skipped: result.skipped,
    fixed: fix,
    bad: result.bad.map((b) => ({ repo: b.repo, blob: b.blob, path: b.path, files: b.files, kind: b.kind, found: b.found, ...(b.movedTo ? { moved_to: b.movedTo } : {}) })),
  };
}

/** Runs the check and prints it; the exit code: 1 when a blob is bad (also with --fix), else 0. */
export async function verifyCache(ctx: CliContext, model: string | undefined, fix: boolean): Promise<number> {
  const { renderer } = ctx;
  const repo = model === undefined ? undefined : repoOf(model);
  const result = await verifyCachedBlobs({
    cacheDir: hubCacheDir(ctx.io.env),
    ...(repo ? { repo } : {}),
    fix,
    onBlob: (r, blob, size) => renderer.spin(`Verifying ${r} ${blob.slice(0, 12)}… (${formatSize(size)})`),
  });
  renderer.stopSpinner();
  if (renderer.json) {
    renderer.writeJson(verifyJson(result, fix));
    return result.bad.length > 0 ? EXIT_FAILURE : EXIT_OK;
  }
  for (const bad of result.bad) ctx.io.stdout.write(`bad: ${describeBadBlob(bad)}${bad.movedTo ? `; moved aside to ${bad.movedTo}` : ''}\n`);
  const what = result.repos.length === 1 ? result.repos[0] : `${result.repos.length} models`;
  ctx.io.stdout.write(`${what}: ${result.checked} file${result.checked === 1 ? '' : 's'} checked (${formatSize(result.bytes)}), ${result.bad.length} bad, in ${result.cacheDir}\n`);
  if (result.bad.length > 0 && !fix) renderer.note('Run "smolvlm models --verify --fix" to move the bad files aside; the next run downloads them again.');
  if (result.bad.length > 0 && fix) renderer.note('The next run (or "smolvlm pull") downloads the files moved aside again.');
  return result.bad.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

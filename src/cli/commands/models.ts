import { Command } from '@commander-js/extra-typings';
import { DEFAULT_MODEL, hubCacheDir, listCachedModels, MODEL_ALIASES, type CachedModel, type CachedRevision } from '../../index.js';
import { runCommand, type CliContext } from '../context.js';
import { EXIT_CODES_HELP, UsageError } from '../errors.js';
import { outputOptions, withOptions } from '../options.js';
import { formatSize } from '../progress.js';
import { optimizedCacheJson, optimizedCell, optimizedModelJson, optimizedSummaryLine, pruneOptimizedGraphs, readOptimizedGraphCache, type OptimizedGraphCache } from './optimized-graphs.js';

const VERIFY_HELP = `
--verify re-hashes the cached files of every model (or of [model]) against the hash each is named
by (sha256 for large files, the git blob sha1 for small ones) and prints one line per bad file; it
exits 1 when any is bad. --fix moves bad files aside (<blob>.corrupt) so that the next run downloads
them again; nothing else in the cache is touched.`;

const HELP = `
Lists the models in the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else
~/.cache/huggingface/hub), one row per cached revision: dtypes present (all three sessions), size,
the revisions (branches, tags) pointing at it, the commit, and whether it is complete (configuration
files present, at least one dtype, no broken link). Repos of other tools without ONNX sessions are
left out unless --all is given. --available lists the aliases of the official models instead.
OPTIMIZED is the size of the optimized graphs made from a model on its first loads (kept in
$SMOLVLM_CACHE/optimized, else ~/.cache/smolvlm/optimized; "rm" removes them with the model);
--prune removes those whose model files are gone.
${VERIFY_HELP}

Examples:
  $ smolvlm models
  $ smolvlm models --available
  $ smolvlm models --json | jq -r '.models[].repo'
  $ smolvlm models --prune --dry-run
  $ smolvlm models --verify 256m --fix

${EXIT_CODES_HELP}
`;

/** Rows as aligned columns (the last column is not padded). */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

function isOurs(model: CachedModel): boolean {
  return model.alias !== undefined || model.incompleteBytes > 0 || model.revisions.some((r) => Object.values(r.sessions).some((d) => d.length > 0));
}

function status(revision: CachedRevision): string {
  if (revision.broken.length > 0) return `broken (${revision.broken.length} missing blob${revision.broken.length === 1 ? '' : 's'})`;
  if (!revision.complete) return 'incomplete (configuration files missing)';
  if (revision.dtypes.length === 0) return 'incomplete (no dtype with all three sessions)';
  return 'complete';
}

function revisionJson(r: CachedRevision): Record<string, unknown> {
  return {
    commit: r.commit,
    refs: r.refs,
    path: r.path,
    size: r.size,
    dtypes: r.dtypes,
    sessions: r.sessions,
    complete: r.complete && r.dtypes.length > 0 && r.broken.length === 0,
    broken: r.broken,
    last_modified: r.lastModified.toISOString(),
  };
}

function modelJson(m: CachedModel): Record<string, unknown> {
  return {
    repo: m.repo,
    ...(m.alias ? { alias: m.alias } : {}),
    path: m.path,
    size_on_disk: m.sizeOnDisk,
    incomplete_bytes: m.incompleteBytes,
    dtypes: m.dtypes,
    usable: m.usable,
    revisions: m.revisions.map(revisionJson),
  };
}

export function modelsCommand() {
  return withOptions(
    new Command('models')
      .summary('list cached models, or the aliases of the official ones')
      .description('List the models in the Hugging Face cache, or with --available the model aliases.')
      .option('--available', 'list the aliases of the official SmolVLM models instead')
      .option('--all', 'include every repo of the cache, also those without ONNX sessions')
      .option('--prune', 'remove the optimized graphs whose model files are gone')
      .option('--dry-run', 'with --prune: show what would be removed, remove nothing')
      .argument('[model]', 'with --verify: the Hub model to check (repo id or alias); default every cached model')
      .option('--verify', 're-hash the cached files against their names; one line per bad file, exit 1 if any')
      .option('--fix', 'with --verify: move bad files aside so that the next run downloads them again'),
    outputOptions({ json: 'one JSON object on stdout; errors as JSON on stderr', verbose: 'stack traces with errors', quiet: 'nothing on stderr but errors' }),
  )
    .addHelpText('after', HELP)
    .action((model, options) =>
      runCommand(options, async (ctx) => {
        if (options.prune) return pruneOptimizedGraphs(ctx, options.dryRun === true);
        if (options.verify) return (await import('../actions.js')).verifyCache(ctx, model, options.fix === true);
        if (model !== undefined || options.fix) throw new UsageError(`${options.fix ? '--fix' : `the model argument "${model}"`} goes with --verify: smolvlm models --verify [model] [--fix]`);
        const cacheDir = hubCacheDir(ctx.io.env);
        const cached = await listCachedModels({ cacheDir });

        if (options.available) return listAvailable(ctx, cached);
        listCached(ctx, options.all ? cached : cached.filter(isOurs), cacheDir, readOptimizedGraphCache(ctx.io.env));
      }),
    );
}

/** --available: the aliases of the official models, and whether each is cached. */
function listAvailable(ctx: CliContext, cached: readonly CachedModel[]): void {
  const { renderer } = ctx;
  const out = (text: string) => void ctx.io.stdout.write(text);
  const isCached = (repo: string) => cached.some((m) => m.usable && m.repo.toLowerCase() === repo.toLowerCase());
  if (renderer.json) {
    renderer.writeJson({
      default: DEFAULT_MODEL,
      aliases: MODEL_ALIASES.map((a) => ({ alias: a.alias, repo: a.repo, description: a.description, default: a.repo === DEFAULT_MODEL, cached: isCached(a.repo) })),
    });
    return;
  }
  out(table([['ALIAS', 'REPO', 'CACHED', 'DESCRIPTION'], ...MODEL_ALIASES.map((a) => [a.alias, a.repo, isCached(a.repo) ? 'yes' : '-', a.description])]));
  return;
}

/** The cached models as a table (or JSON), with their optimized graphs and the totals. */
function listCached(ctx: CliContext, models: readonly CachedModel[], cacheDir: string, optimized: OptimizedGraphCache): void {
  const { renderer } = ctx;
  const out = (text: string) => void ctx.io.stdout.write(text);
  if (renderer.json) {
    renderer.writeJson({
      cache_dir: cacheDir,
      models: models.map((m) => ({ ...modelJson(m), optimized_graphs: optimizedModelJson(optimized, m.repo) })),
      optimized_graph_cache: optimizedCacheJson(optimized),
    });
    return;
  }
  if (models.length === 0) {
    out(`No models in the cache ${cacheDir}\n`);
    renderer.note('Download one with "smolvlm pull" (the default model) or "smolvlm pull <alias>"; "smolvlm models --available" lists the aliases.');
    out(optimizedSummaryLine(optimized));
    return;
  }
  const rows = [['MODEL', 'ALIAS', 'DTYPES', 'SIZE', 'OPTIMIZED', 'REVISION', 'COMMIT', 'STATUS']];
  for (const m of models) {
    const revisions = m.revisions.length > 0 ? m.revisions : [undefined];
    for (const [i, r] of revisions.entries()) {
      rows.push([
        m.repo,
        m.alias ?? '-',
        r && r.dtypes.length > 0 ? r.dtypes.join(',') : '-',
        formatSize(r ? r.size : m.sizeOnDisk),
        i === 0 ? optimizedCell(optimized, m.repo) : '',
        r && r.refs.length > 0 ? r.refs.join(',') : '-',
        r ? r.commit.slice(0, 12) : '-',
        r ? status(r) : 'incomplete (no snapshot)',
      ]);
    }
  }
  out(table(rows));
  const total = models.reduce((n, m) => n + m.sizeOnDisk, 0);
  const partial = models.reduce((n, m) => n + m.incompleteBytes, 0);
  out(
    `${models.length} model${models.length === 1 ? '' : 's'}, ${formatSize(total)} on disk` +
      `${partial > 0 ? ` (and ${formatSize(partial)} of interrupted downloads, resumed by the next pull)` : ''} in ${cacheDir}\n`,
  );
  out(optimizedSummaryLine(optimized));
}

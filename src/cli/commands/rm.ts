import { Command } from '@commander-js/extra-typings';
import { formatRef, hubCacheDir, type RemoveResult } from '../../index.js';
import { runCommand, type CliIO } from '../context.js';
import { EXIT_CODES_HELP, EXIT_INTERRUPTED, UsageError } from '../errors.js';
import { nonEmpty, outputOptions, withOptions } from '../options.js';
import { formatSize } from '../progress.js';
import { describeOptimizedRemoval, optimizedRemovalJson, removeRepoOptimizedGraphs } from './optimized-graphs.js';

const HELP = `
Removes a model from the Hugging Face cache: without --revision its whole folder (every snapshot,
ref and blob, and interrupted downloads); with --revision (or model@revision) that snapshot and the
refs pointing at it, and only the blobs no other snapshot uses. The optimized graphs made from the
removed files (in $SMOLVLM_CACHE/optimized, else ~/.cache/smolvlm/optimized) go with them. Asks for confirmation on a terminal;
elsewhere --yes is required. A model that another process is downloading is not removed.

Examples:
  $ smolvlm rm 500m
  $ smolvlm rm HuggingFaceTB/SmolVLM-256M-Instruct --revision main --dry-run
  $ smolvlm rm 2.2b --yes

${EXIT_CODES_HELP}
`;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `org/name@rev (1 snapshot, 12 blobs)`. */
function describeRemoval(r: RemoveResult, revision: string | undefined): string {
  const what = r.removedRepo ? `${r.repo}${revision !== undefined ? ` (its only snapshot is ${revision})` : ''}` : formatRef(r.repo, revision);
  return `${what}: ${plural(r.commits.length, 'snapshot')}, ${plural(r.blobs, 'blob')}`;
}

function resultJson(r: RemoveResult): Record<string, unknown> {
  return { repo: r.repo, removed_repo: r.removedRepo, commits: r.commits, refs: r.refs, blobs: r.blobs, freed_bytes: r.freedBytes, dry_run: r.dryRun };
}

/** Asks a yes/no question on the terminal; Ctrl+C or end of input answer it. */
async function confirm(io: CliIO, question: string): Promise<'yes' | 'no' | 'interrupted'> {
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
  return new Promise((resolve) => {
    rl.on('SIGINT', () => {
      io.stderr.write('\n');
      resolve('interrupted');
      rl.close();
    });
    rl.on('close', () => resolve('no'));
    rl.question(question, (answer) => {
      resolve(/^(y|yes)$/i.test(answer.trim()) ? 'yes' : 'no');
      rl.close();
    });
  });
}

export function rmCommand() {
  return withOptions(
    new Command('rm')
      .summary('remove a model from the Hugging Face cache')
      .description('Remove a cached Hub model (or one revision of it) from the Hugging Face cache.')
      .argument('<model>', 'Hub repo id (org/name[@revision]) or alias (256m, 500m, 2.2b)')
      .option('-r, --revision <revision>', 'remove only this revision: branch, tag or commit (prefix)', (value) => nonEmpty(value).trim())
      .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
      .option('--dry-run', 'show what would be removed, remove nothing'),
    outputOptions({ json: 'what was removed as one JSON object on stdout; errors as JSON on stderr', verbose: 'stack traces with errors', quiet: 'nothing on stderr but errors' }),
  )
    .addHelpText('after', HELP)
    .action((model, options) =>
      runCommand(options, async (ctx) => {
        const { removeCachedModel } = await import('../actions.js');
        const { renderer, io } = ctx;
        const inRef = model.includes('@') ? model.slice(model.indexOf('@') + 1) : undefined;
        if (inRef !== undefined && options.revision !== undefined && inRef !== options.revision) {
          throw new UsageError(`two revisions given: "${model}" and --revision ${options.revision}`);
        }
        const revision = options.revision ?? inRef;
        const remove = (dryRun: boolean) =>
          removeCachedModel(model, { cacheDir: hubCacheDir(io.env), ...(options.revision !== undefined ? { revision: options.revision } : {}), dryRun });
        const plan = await remove(true);
        const removeOptimized = (dryRun: boolean, r: RemoveResult) =>
          removeRepoOptimizedGraphs(io.env, r.repo, { dryRun, wholeRepo: r.removedRepo || revision === undefined });
        if (options.dryRun) {
          const optimized = removeOptimized(true, plan);
          if (renderer.json) renderer.writeJson({ ...resultJson(plan), optimized_graphs: optimizedRemovalJson(optimized) });
          else io.stdout.write(`Would remove ${describeRemoval(plan, revision)}${describeOptimizedRemoval(optimized)}; would free ${formatSize(plan.freedBytes + optimized.freedBytes)}\n`);
          return;
        }
        if (!options.yes) {
          if (io.stdin.isTTY !== true) {
            throw new UsageError(`refusing to remove ${plan.repo} without confirmation: stdin is not a terminal; pass --yes (or --dry-run to see what would go)`);
          }
          const answer = await confirm(io, `Remove ${describeRemoval(plan, revision)}, ${formatSize(plan.freedBytes)}? [y/N] `);
          if (answer === 'interrupted') ctx.exitNow(EXIT_INTERRUPTED);
          if (answer === 'no') {
            renderer.note('Nothing removed.');
            return;
          }
        }
        const done = await remove(false);
        const optimized = removeOptimized(false, done);
        if (renderer.json) renderer.writeJson({ ...resultJson(done), optimized_graphs: optimizedRemovalJson(optimized) });
        else io.stdout.write(`Removed ${describeRemoval(done, revision)}${describeOptimizedRemoval(optimized)}; freed ${formatSize(done.freedBytes + optimized.freedBytes)}\n`);
      }),
    );
}

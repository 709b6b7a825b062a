import { Command, Option } from '@commander-js/extra-typings';
import { formatRef, type ModelSource, type SessionDtypes } from '../../index.js';
import { runCommand } from '../context.js';
import { EXIT_CODES_HELP } from '../errors.js';
import { defaultModel, dtype, MODEL_ENV, outputOptions, withOptions } from '../options.js';
import { formatDuration, formatSize } from '../progress.js';

const HELP = `
Downloads the files the model needs for one dtype (the JSON files and the three ONNX sessions of
that dtype, with their .onnx_data parts) into the Hugging Face cache, so that later commands run
offline. Already cached files are not downloaded again; the Hub is asked what the revision points to.
With --offline (or HF_HUB_OFFLINE=1) nothing is downloaded: pull checks that the model is complete in
the cache and exits 1 when it is not.

Progress goes to stderr: a bar on a terminal, a line per file otherwise (--quiet: none). stdout gets
one summary line, or the resolved model as a JSON object with --json.

Examples:
  $ smolvlm pull                       # the default model
  $ smolvlm pull 500m --dtype q4
  $ smolvlm pull HuggingFaceTB/SmolVLM-256M-Instruct@main --json

${EXIT_CODES_HELP}
`;

/** `int8`, or `vision_encoder=fp32, embed_tokens=int8, ...` when the sessions differ. */
export function formatDtypes(dtypes: SessionDtypes): string {
  const values = Object.values(dtypes);
  if (values.every((d) => d === values[0])) return String(values[0]);
  return Object.entries(dtypes)
    .map(([session, d]) => `${session}=${d}`)
    .join(', ');
}

/** The --json object of a resolved model. */
export function sourceJson(ref: string, source: ModelSource): Record<string, unknown> {
  return {
    model: ref,
    repo: source.repo,
    ...(source.alias ? { alias: source.alias } : {}),
    revision: source.revision,
    commit: source.commit,
    dir: source.dir,
    dtype: source.dtypes,
    sessions: source.sessions,
    files: source.files,
    from_cache: source.fromCache,
    downloaded: source.downloaded ?? { files: 0, bytes: 0 },
  };
}

export function pullCommand() {
  return withOptions(
    new Command('pull')
      .summary('download a model into the Hugging Face cache')
      .description('Download a model from the Hugging Face Hub (only the files of one dtype) into the cache.')
      .argument('[model]', `Hub repo id (org/name[@revision]) or alias (256m, 500m, 2.2b); default $${MODEL_ENV} or the default model`)
      .addOption(
        new Option('--dtype <dtype>', 'ONNX variant to download: fp32, fp16, int8, uint8, q8, q4, q4f16, bnb4, or per session (vision=fp32,decoder=q4); default: the preferred one the repo has').argParser(dtype),
      )
      .addOption(new Option('--offline', 'download nothing: check that the model is complete in the cache (exit 1 if not); also HF_HUB_OFFLINE=1')),
    outputOptions({ json: 'the resolved model as one JSON object on stdout; errors as JSON on stderr', verbose: 'stack traces with errors', quiet: 'no progress on stderr' }),
  )
    .addHelpText('after', HELP)
    .action((model, options) => {
      const ref = model ?? defaultModel();
      return runCommand(options, async (ctx) => {
        const { pullModel } = await import('../actions.js');
        const { renderer } = ctx;
        const progress = ctx.downloadProgress();
        renderer.spin(`Checking ${ref}`);
        const source = await pullModel(ref, {
          ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
          env: ctx.io.env,
          cwd: ctx.io.cwd,
          signal: ctx.signal,
          ...(options.offline ? { offline: true } : {}),
          onProgress: progress.onProgress,
        });
        renderer.stopSpinner();
        if (renderer.json) {
          renderer.writeJson(sourceJson(ref, source));
          return;
        }
        const name = formatRef(source.repo ?? ref, source.revision);
        const commit = source.commit ? ` (commit ${source.commit.slice(0, 12)})` : '';
        const { files, bytes } = source.downloaded ?? { files: 0, bytes: 0 };
        const took = progress.summary().ms;
        const what =
          files > 0
            ? `downloaded ${files} file${files === 1 ? '' : 's'}, ${formatSize(bytes)}${took >= 1000 ? ` in ${formatDuration(took / 1000)}` : ''}`
            : 'already in the cache';
        ctx.io.stdout.write(`${name}${commit}, dtype ${formatDtypes(source.dtypes)}: ${what}\n${source.dir}\n`);
      });
    });
}

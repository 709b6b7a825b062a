import { Command } from '@commander-js/extra-typings';
import { runCommand } from '../context.js';
import { EXIT_CODES_HELP } from '../errors.js';
import { outputOptions, withOptions } from '../options.js';

const HELP = `
What a bug report needs: the versions of smolvlm, Node.js, onnxruntime-node, sharp and libvips, the
platform, the CPU and its core count, and how onnxruntime's int8 kernels behave on it (which decides
the default dtype). --version prints the bare version only.

Examples:
  $ smolvlm version
  $ smolvlm version --json

${EXIT_CODES_HELP}
`;

export function versionCommand() {
  return withOptions(
    new Command('version').summary('versions and platform, for bug reports').description('Print the versions of smolvlm and what it runs on.'),
    outputOptions({ json: 'one JSON object on stdout', verbose: 'stack traces with errors', quiet: 'nothing on stderr but errors' }),
  )
    .addHelpText('after', HELP)
    .action((options) =>
      runCommand(options, async (ctx) => {
        const { environmentReport, formatEnvironmentReport } = await import('../actions.js');
        const report = await environmentReport();
        if (ctx.renderer.json) ctx.renderer.writeJson(report);
        else ctx.io.stdout.write(`${formatEnvironmentReport(report)}\n`);
      }),
    );
}

/** After an error with --verbose: what a bug report needs, as `smolvlm version` prints it, on `stream`. */
export async function reportEnvironment(stream: NodeJS.WritableStream): Promise<void> {
  try {
    const { environmentReport, formatEnvironmentReport } = await import('../actions.js');
    stream.write(`${formatEnvironmentReport(await environmentReport())}\n`);
  } catch {
    // The error itself has been reported; a report that cannot be made adds nothing.
  }
}

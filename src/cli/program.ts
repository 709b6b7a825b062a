/**
 * The `smolvlm` program around the commands listed in main.ts. Every command (and its subcommands)
 * gets the same error handling: usage errors exit 2, --help and --version 0, and a closed stdout
 * ends the run quietly.
 */
import { Command, CommanderError, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { packageVersion } from '../index.js';
import { reportEnvironment } from './commands/version.js';
import { EXIT_CODES_HELP, EXIT_OK, EXIT_USAGE, reportError } from './errors.js';
import { MODEL_ENV } from './options.js';
import { colorLevel } from './render.js';
import { Chalk } from 'chalk';

/** Builds one top-level command. */
export type CommandFactory = () => CommandUnknownOpts;

export const ENVIRONMENT_HELP = `Environment:
  ${MODEL_ENV}    default model (directory, Hub repo id or alias) when --model is not given
  HF_HUB_CACHE     Hugging Face cache (else $HF_HOME/hub, else ~/.cache/huggingface/hub)
  HF_ENDPOINT      Hub address; HF_TOKEN: token for gated or private models
  HF_HUB_OFFLINE   1: use the cache only (as --offline)
  NO_COLOR         no colours on stderr; FORCE_COLOR: colours even in a pipe (0-3)`;

/** exitOverride and quiet error output on a command and all its subcommands; main() reports errors itself. */
function configureTree(command: CommandUnknownOpts): void {
  command.exitOverride();
  command.configureOutput({ outputError: () => {} });
  for (const sub of command.commands) configureTree(sub);
}

export function buildProgram(commands: readonly CommandFactory[]): CommandUnknownOpts {
  const program = new Command('smolvlm')
    .description('Run SmolVLM vision-language models locally on their ONNX exports.')
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError(true)
    .addHelpText('after', `\nExamples:\n  $ smolvlm describe fixtures/images/cat.jpg\n  $ smolvlm ask fixtures/images/coffee.jpg "What is in the cup?"\n  $ smolvlm story fixtures/images/*.jpg\n  $ smolvlm ask "Write a haiku about autumn."\n  $ smolvlm caption photos/ -o photos/metadata.jsonl\n\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}\n`);
  for (const make of commands) program.addCommand(make());
  configureTree(program);
  return program;
}

/**
 * A reader that closed the pipe (`smolvlm describe … | head -1`) wants no more output: end at once,
 * quietly, with the exit code so far (0 unless something already failed). Installed once for the
 * whole run and never removed: the EPIPE error event comes a tick after the write, possibly after
 * the command that wrote has finished, and commander writes --help itself.
 */
export function endQuietlyWhenClosed(stream: NodeJS.WritableStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK);
  });
}

/** Parses and runs; returns the exit code (commands set process.exitCode themselves). */
export async function main(commands: readonly CommandFactory[], argv: readonly string[] = process.argv): Promise<number> {
  endQuietlyWhenClosed(process.stdout);
  endQuietlyWhenClosed(process.stderr);
  const program = buildProgram(commands);
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
      // `smolvlm` alone prints the help (on stderr) and is a usage error; `smolvlm help [command]` is not.
      if (error.code === 'commander.help') return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    const json = argv.includes('--json');
    const paint = new Chalk({ level: colorLevel({ color: !argv.includes('--no-color') }, process.stderr) });
    const verbose = argv.includes('--verbose') || argv.includes('-v');
    const code = reportError(error, { json, verbose, paint: (t) => paint.red.bold(t) });
    if (verbose && !json) await reportEnvironment(process.stderr);
    if (error instanceof CommanderError && !json) process.stderr.write(`Run "${commandPath(program, argv)} --help" for usage.\n`);
    return code;
  }
}

/** `smolvlm` or `smolvlm <command>` for the hint after a usage error. */
function commandPath(program: CommandUnknownOpts, argv: readonly string[]): string {
  const name = argv.slice(2).find((a) => !a.startsWith('-'));
  return name && program.commands.some((c) => c.name() === name) ? `smolvlm ${name}` : 'smolvlm';
}

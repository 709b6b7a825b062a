import { Argument, Command } from '@commander-js/extra-typings';
import { completionScript, SHELLS } from '../completion.js';
import { EXIT_CODES_HELP } from '../errors.js';

const HELP = `
Prints a completion script for commands, options, --dtype values, --model aliases and cached
models, and files for image arguments.

Examples:
  $ source <(smolvlm completion bash)                      # in ~/.bashrc
  $ source <(smolvlm completion zsh)                       # in ~/.zshrc
  $ smolvlm completion fish > ~/.config/fish/completions/smolvlm.fish

${EXIT_CODES_HELP}
`;

export function completionCommand() {
  return new Command('completion')
    .summary('print a shell completion script (bash, zsh, fish)')
    .description('Print the completion script for a shell.')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .addHelpText('after', HELP)
    .action((shell, _options, command) => {
      const program = command.parent ?? command;
      process.stdout.write(completionScript(shell, program));
    });
}

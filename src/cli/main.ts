/** The `smolvlm` executable. To add a command: import its factory and list it in COMMANDS. */
import { askCommand } from './commands/ask.js';
import { captionCommand } from './commands/caption.js';
import { chatCommand } from './commands/chat.js';
import { completionCommand } from './commands/completion.js';
import { describeCommand } from './commands/describe.js';
import { modelsCommand } from './commands/models.js';
import { pullCommand } from './commands/pull.js';
import { rmCommand } from './commands/rm.js';
import { serveCommand } from './commands/serve.js';
import { storyCommand } from './commands/story.js';
import { versionCommand } from './commands/version.js';
import { main, type CommandFactory } from './program.js';

const COMMANDS: CommandFactory[] = [
  describeCommand,
  askCommand,
  storyCommand,
  captionCommand,
  chatCommand,
  serveCommand,
  pullCommand,
  modelsCommand,
  rmCommand,
  versionCommand,
  completionCommand,
];

process.exitCode = await main(COMMANDS);

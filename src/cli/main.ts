/** The `smolvlm` executable. To add a command: import its factory and list it in COMMANDS. */
import { askCommand } from './commands/ask.js';
import { captionCommand } from './commands/caption.js';
import { chatCommand } from './commands/chat.js';
import { describeCommand } from './commands/describe.js';
import { modelsCommand } from './commands/models.js';
import { pullCommand } from './commands/pull.js';
import { rmCommand } from './commands/rm.js';
import { storyCommand } from './commands/story.js';
import { main, type CommandFactory } from './program.js';

const COMMANDS: CommandFactory[] = [
  describeCommand,
  askCommand,
  storyCommand,
  captionCommand,
  chatCommand,
  pullCommand,
  modelsCommand,
  rmCommand,
];

process.exitCode = await main(COMMANDS);

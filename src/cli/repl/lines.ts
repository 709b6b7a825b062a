/** What a typed line does in a chat: part of a `"""` block, a slash command, or a message. */
import { runReplCommand, type CommandOutcome } from './commands.js';
import { MessageAssembler, parseCommandLine } from './input.js';
import type { ChatSession } from './session.js';

/** Handles one typed line; 'exit' when it ended the session (/exit). */
export async function handleLine(session: ChatSession, line: string): Promise<CommandOutcome> {
  if (session.assembler.open || MessageAssembler.opens(line)) {
    const message = session.assembler.push(line);
    if (message !== undefined) await session.sendMessage(message);
    return undefined;
  }
  const command = parseCommandLine(line);
  if (command) return runReplCommand(session, command.name, command.args);
  if (line.trim() !== '') await session.sendMessage(line);
  return undefined;
}

/** At the end of input: an unterminated `"""` block is sent as it is. */
export async function finishInput(session: ChatSession): Promise<void> {
  const rest = session.assembler.flush();
  if (rest === undefined) return;
  session.renderer.warn('the input ended inside a """ block; sending it as it is');
  if (rest.trim() !== '') await session.sendMessage(rest);
}

/**
 * The two ways lines reach a chat session: a terminal (readline with history, prompts, Ctrl+C that
 * stops an answer or explains how to quit) and a pipe (each line or `"""` block is a turn).
 */
import readline from 'node:readline';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK } from '../errors.js';
import { History, HISTORY_SIZE } from './history.js';
import type { ChatSession } from './session.js';

export const PROMPT = '>>> ';
export const CONTINUATION_PROMPT = '... ';
export const QUIT_HINT = '(To exit, press Ctrl+C again, Ctrl+D or type /exit)';

export interface TerminalIO {
  stdin: NodeJS.ReadStream;
  /** Where readline draws the prompt and echo (a TTY). */
  output: NodeJS.WriteStream;
}

/**
 * The interactive REPL. While a line is handled, readline is paused and the terminal leaves raw mode,
 * so Ctrl+C arrives as SIGINT and stops the answer; at the prompt readline reports it instead.
 */
export function runTerminal(session: ChatSession, io: TerminalIO, history: History): Promise<number> {
  const rl = readline.createInterface({
    input: io.stdin,
    output: io.output,
    terminal: true,
    history: history.load(),
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    prompt: PROMPT,
  });
  const setRaw = (on: boolean) => {
    if (io.stdin.isTTY) io.stdin.setRawMode(on);
  };
  const queue: string[] = [];
  let draining = false;
  let closing = false;
  let quitArmed = false;

  return new Promise<number>((resolve) => {
    const prompt = () => {
      rl.setPrompt(session.assembler.open ? CONTINUATION_PROMPT : PROMPT);
      rl.prompt();
    };
    const quit = () => {
      if (closing) return;
      closing = true;
      rl.close();
      resolve(EXIT_OK);
    };
    // Only while a line is handled (readline is paused, the terminal is not raw).
    const onSigint = () => {
      if (!session.interrupt()) {
        // Ctrl+C between two steps of a command: nothing to stop, the prompt comes back.
      }
    };
    const drain = async () => {
      if (draining) return;
      draining = true;
      rl.pause();
      setRaw(false);
      process.on('SIGINT', onSigint);
      try {
        while (queue.length > 0) {
          if ((await session.handleLine(queue.shift()!)) === 'exit') {
            queue.length = 0;
            quit();
            return;
          }
        }
      } finally {
        process.off('SIGINT', onSigint);
        draining = false;
      }
      if (closing) return;
      setRaw(true);
      rl.resume();
      prompt();
    };

    rl.on('line', (line) => {
      quitArmed = false;
      history.add(line);
      queue.push(line);
      void drain();
    });
    rl.on('SIGINT', () => {
      if (rl.line !== '' || session.assembler.open) {
        session.assembler.reset();
        quitArmed = false;
        const clearLine = (rl as unknown as { clearLine?: () => void }).clearLine;
        if (typeof clearLine === 'function') clearLine.call(rl);
        else io.output.write('\n');
        prompt();
        return;
      }
      if (quitArmed) {
        io.output.write('\n');
        quit();
        return;
      }
      quitArmed = true;
      io.output.write(`\n${QUIT_HINT}\n`);
      prompt();
    });
    rl.on('close', () => {
      // Ctrl+D: end the prompt line so that the shell's prompt starts on its own.
      if (!closing) io.output.write('\n');
      closing = true;
      resolve(EXIT_OK);
    });
    prompt();
  });
}

/**
 * Piped input: every line (or `"""` block) is a user turn, commands work the same, answers go to
 * stdout. Ctrl+C stops the answer and exits 130; the end of input exits 0 (1 when a turn failed).
 */
export async function runPiped(session: ChatSession, stdin: NodeJS.ReadableStream): Promise<number> {
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    if (!session.interrupt()) process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onSigint);
  const rl = readline.createInterface({ input: stdin, terminal: false, crlfDelay: Infinity });
  try {
    for await (const line of rl) {
      if ((await session.handleLine(line)) === 'exit' || interrupted) break;
    }
    if (!interrupted) await session.finish();
  } finally {
    rl.close();
    process.off('SIGINT', onSigint);
  }
  if (interrupted) return EXIT_INTERRUPTED;
  return session.failed ? EXIT_FAILURE : EXIT_OK;
}

/**
 * The two ways lines reach a chat session: a terminal (readline with history, prompts, Ctrl+C that
 * stops an answer or explains how to quit) and a pipe (each line or `"""` block is a turn).
 */
import readline from 'node:readline';
import type { CliContext, StopHandler } from '../context.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { completeLine } from './completer.js';
import { isBinaryChatLine } from '../inputs.js';
import { History, HISTORY_SIZE } from './history.js';
import type { CommandOutcome } from './commands.js';
import { finishInput, handleLine } from './lines.js';
import type { ChatSession } from './session.js';

export const PROMPT = '>>> ';
export const CONTINUATION_PROMPT = '... ';
export const QUIT_HINT = '(To exit, press Ctrl+C again, Ctrl+D or type /exit)';

export interface TerminalIO {
  stdin: NodeJS.ReadStream;
  /** Where readline draws the prompt and echo (a TTY). */
  output: NodeJS.WriteStream;
}

/** What the loops need of the command's context: who answers Ctrl+C and SIGTERM. */
export type LoopContext = Pick<CliContext, 'stoppable' | 'endBecauseOf' | 'interrupted'>;

/**
 * The interactive REPL. While a line is handled, readline is paused and the terminal leaves raw mode,
 * so Ctrl+C arrives as SIGINT and stops the answer (or does nothing between two steps of a command:
 * the prompt comes back); at the prompt readline reports it instead. SIGTERM ends the session.
 */
export function runTerminal(session: ChatSession, io: TerminalIO, history: History, ctx: LoopContext): Promise<number> {
  // A signal at the prompt (SIGTERM; Ctrl+C is a key there) exits at once, ending the prompt line first.
  const atPrompt: StopHandler = () => {
    io.output.write('\n');
    return false;
  };
  return ctx.stoppable(atPrompt, () => new Promise<number>((resolve) => new TerminalRepl(session, io, history, ctx, resolve).start()));
}

class TerminalRepl {
  readonly #rl: readline.Interface;
  readonly #queue: string[] = [];
  #draining = false;
  #closing = false;
  #quitArmed = false;

  constructor(
    private readonly session: ChatSession,
    private readonly io: TerminalIO,
    private readonly history: History,
    private readonly ctx: LoopContext,
    private readonly resolve: (code: number) => void,
  ) {
    this.#rl = readline.createInterface({
      input: io.stdin,
      output: io.output,
      terminal: true,
      history: history.load(),
      historySize: HISTORY_SIZE,
      removeHistoryDuplicates: true,
      prompt: PROMPT,
      completer: (line: string) => completeLine(line, { cwd: session.io.cwd }),
    });
  }

  start(): void {
    this.#rl.on('line', (line) => {
      this.#quitArmed = false;
      this.history.add(line);
      this.#queue.push(line);
      void this.#drain();
    });
    this.#rl.on('SIGINT', () => this.#ctrlC());
    this.#rl.on('close', () => {
      // Ctrl+D: end the prompt line so that the shell's prompt starts on its own.
      if (!this.#closing) this.io.output.write('\n');
      this.#closing = true;
      this.resolve(EXIT_OK);
    });
    this.#prompt();
  }

  #prompt(): void {
    this.#rl.setPrompt(this.session.assembler.open ? CONTINUATION_PROMPT : PROMPT);
    this.#rl.prompt();
  }

  #quit(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#rl.close();
    this.resolve(EXIT_OK);
  }

  #setRaw(on: boolean): void {
    if (this.io.stdin.isTTY) this.io.stdin.setRawMode(on);
  }

  /** Handles the queued lines with readline paused; Ctrl+C (a SIGINT then) stops what runs. */
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    this.#rl.pause();
    this.#setRaw(false);
    const onStop: StopHandler = (signal) => {
      // Ctrl+C stops the answer and the prompt comes back; SIGTERM ends the session at once.
      if (signal !== 'SIGINT') return false;
      this.session.interrupt();
      return true;
    };
    let outcome: CommandOutcome;
    try {
      outcome = await this.ctx.stoppable(onStop, async () => {
        while (this.#queue.length > 0) {
          if ((await handleLine(this.session, this.#queue.shift()!)) === 'exit') return 'exit';
        }
        return undefined;
      });
    } finally {
      this.#draining = false;
    }
    if (outcome === 'exit') {
      this.#queue.length = 0;
      this.#quit();
      return;
    }
    if (this.#closing) return;
    this.#setRaw(true);
    this.#rl.resume();
    this.#prompt();
  }

  /** Ctrl+C at the prompt: clears the line (or an open block); on an empty line says how to quit, and quits the second time. */
  #ctrlC(): void {
    if (this.#rl.line !== '' || this.session.assembler.open) {
      this.session.assembler.reset();
      this.#quitArmed = false;
      const clearLine = (this.#rl as unknown as { clearLine?: () => void }).clearLine;
      if (typeof clearLine === 'function') clearLine.call(this.#rl);
      else this.io.output.write('\n');
      this.#prompt();
      return;
    }
    if (this.#quitArmed) {
      this.io.output.write('\n');
      this.#quit();
      return;
    }
    this.#quitArmed = true;
    this.io.output.write(`\n${QUIT_HINT}\n`);
    this.#prompt();
  }
}

/**
 * Piped input: every line (or `"""` block) is a user turn, commands work the same, answers go to
 * stdout. Ctrl+C (SIGTERM alike) stops the answer and ends the session with its exit code (130, 143);
 * the end of input exits 0 (1 when a turn failed, 2 when a line was refused as a usage error).
 */
export async function runPiped(session: ChatSession, stdin: NodeJS.ReadableStream, ctx: LoopContext): Promise<number> {
  const onStop: StopHandler = (signal) => {
    if (ctx.interrupted) return false;
    ctx.endBecauseOf(signal);
    // Nothing running (reading the next line): exit at once.
    return session.interrupt();
  };
  const rl = readline.createInterface({ input: stdin, terminal: false, crlfDelay: Infinity });
  try {
    await ctx.stoppable(onStop, async () => {
      let first = true;
      for await (const line of rl) {
        if (isBinaryChatLine(line, first)) throw new UsageError('stdin holds binary data (an image?), not chat messages: give images with /image <file> or as arguments');
        first = false;
        if ((await handleLine(session, line)) === 'exit' || ctx.interrupted) break;
      }
      if (!ctx.interrupted) await finishInput(session);
    });
  } finally {
    rl.close();
  }
  return session.exitCode;
}

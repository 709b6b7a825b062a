/**
 * One chat session, whatever the input: lines become messages (with the image files they name) or
 * commands; answers stream to stdout. The terminal and piped loops feed it lines and Ctrl+C.
 */
import path from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { isSmolVLMError, resolveLocalPath, SmolVLMError, type Conversation, type ConversationImage, type TurnResult } from '../../index.js';
import type { LoadedModel } from '../context.js';
import { UsageError } from '../errors.js';
import { answerJson, formatStats, type Renderer } from '../render.js';
import { COMMANDS, findCommand, suggestCommand } from './commands.js';
import { extractImageReferences, unquoteToken } from './image-references.js';
import { MessageAssembler, parseCommandLine } from './input.js';

export interface SessionIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
}

export type LineOutcome = 'exit' | undefined;

export class ChatSession {
  readonly assembler = new MessageAssembler();
  /** A turn (or a command that reads images) that failed with a runtime error. */
  failed = false;
  #controller: AbortController | undefined;

  constructor(
    readonly conversation: Conversation,
    readonly loaded: LoadedModel,
    readonly renderer: Renderer,
    readonly io: SessionIO,
    /** Prompts, colours and command output on stdout (a terminal) versus plain answers only (a pipe). */
    readonly interactive: boolean,
  ) {}

  /** True while something can be stopped with Ctrl+C. */
  get busy(): boolean {
    return this.#controller !== undefined;
  }

  /** Ctrl+C: stops the running answer (or image read); false when nothing was running. */
  interrupt(): boolean {
    if (!this.#controller) return false;
    this.#controller.abort(new Error('interrupted'));
    return true;
  }

  /** Handles one typed line. */
  async handleLine(line: string): Promise<LineOutcome> {
    if (this.assembler.open || MessageAssembler.opens(line)) {
      const message = this.assembler.push(line);
      if (message !== undefined) await this.sendMessage(message);
      return undefined;
    }
    const command = parseCommandLine(line);
    if (command) return this.runCommand(command.name, command.args);
    if (line.trim() === '') return undefined;
    await this.sendMessage(line);
    return undefined;
  }

  /** At the end of input: an unterminated `"""` block is sent as it is. */
  async finish(): Promise<void> {
    const rest = this.assembler.flush();
    if (rest === undefined) return;
    this.renderer.warn('the input ended inside a """ block; sending it as it is');
    if (rest.trim() !== '') await this.sendMessage(rest);
  }

  async runCommand(name: string, args: string): Promise<LineOutcome> {
    const command = findCommand(name);
    if (!command) {
      const suggestion = suggestCommand(name);
      this.renderer.warn(`unknown command /${name}${suggestion ? ` (did you mean /${suggestion}?)` : ''}; type /help for the commands`);
      return undefined;
    }
    try {
      return await command.run(this, args);
    } catch (error) {
      this.report(error);
      return undefined;
    }
  }

  /** A message: image files it names are attached (missing ones reported), the rest is the text. */
  async sendMessage(message: string): Promise<void> {
    const lines: string[] = [];
    const images: string[] = [];
    for (const line of message.split('\n')) {
      const found = await extractImageReferences(line, this.io.cwd);
      images.push(...found.images);
      for (const missing of found.missing) this.renderer.warn(`no such image: ${missing} (left in the message as text)`);
      lines.push(found.text);
    }
    const text = lines.join('\n').trim();
    if (text === '') {
      if (images.length > 0) await this.attach(images);
      return;
    }
    await this.turn('ask', { text, images });
  }

  /** Reads and tiles images for the next message. */
  async attach(sources: string[]): Promise<void> {
    const signal = this.#begin();
    try {
      const attached = await this.conversation.attach(sources, signal);
      this.note(`attached ${attached.map(describeImage).join(', ')} to your next message`);
    } catch (error) {
      this.report(error);
    } finally {
      this.#end();
    }
  }

  /** Generates an answer to a new message or again to the last one (/retry), streaming it. */
  async turn(kind: 'ask' | 'retry', message: { text: string; images: string[] } = { text: '', images: [] }): Promise<TurnResult | undefined> {
    const { renderer, conversation } = this;
    const signal = this.#begin();
    const options = { signal, onNotice: (notice: { message: string }) => renderer.warn(notice.message) };
    renderer.spin('Thinking');
    renderer.beginAnswer();
    try {
      const stream = kind === 'ask' ? conversation.ask(message.text, message.images, options) : conversation.retry(options);
      let started = false;
      for await (let piece of stream) {
        // The stored answer is trimmed; show it the same way.
        if (!started) {
          piece = piece.trimStart();
          if (piece === '') continue;
          started = true;
        }
        renderer.write(piece);
      }
      const result = await stream.result;
      renderer.endAnswer();
      if (result.finishReason === 'aborted') this.note('(stopped; the partial answer is kept, /retry regenerates it)');
      else if (result.finishReason === 'context') renderer.warn('the answer reached the end of the context; /clear or /save and start again');
      if (renderer.json) {
        const prompt = kind === 'ask' ? message.text : [...conversation.messages].reverse().find((m) => m.role === 'user')?.text ?? '';
        renderer.writeJson({ ...answerJson({ model: this.loaded.name, dtype: this.loaded.model.dtypes, prompt }, result), cached_tokens: result.usage.cachedTokens });
      }
      renderer.stats(result);
      return result;
    } catch (error) {
      renderer.endAnswer();
      if (isSmolVLMError(error) && error.code === 'ABORTED') this.note('(stopped)');
      else this.report(error);
      return undefined;
    } finally {
      this.#end();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Command bodies (see commands.ts for the table)

  async imageCommand(args: string): Promise<void> {
    if (args === '') throw new UsageError('usage: /image <path|url>');
    const whole = unquoteToken(args);
    if (/^(https?:|data:|file:)/i.test(whole)) return this.attach([whole]);
    const found = await extractImageReferences(args, this.io.cwd);
    for (const missing of found.missing) this.renderer.error(new SmolVLMError('IMAGE_NOT_FOUND', `no such image: ${missing}`));
    if (found.images.length > 0 && found.text === '') return this.attach(found.images);
    if (found.missing.length > 0) return;
    // Not an image file name: let the reader say what is wrong with it (missing, a directory, not an image).
    return this.attach([whole]);
  }

  imagesCommand(): void {
    const listing = this.conversation.images();
    if (listing.length === 0) {
      this.info('no images yet: name image files in a message, drag them in, or use /image <path|url>');
      return;
    }
    const lines = listing.map(({ image, message }, i) => {
      const where = message === undefined ? 'next message' : `message ${message + 1}`;
      return `${i + 1}. ${describeImage(image)} [${where}]`;
    });
    const tokens = listing.reduce((n, { image }) => n + image.prepared.tokens, 0);
    const tiles = listing.reduce((n, { image }) => n + image.prepared.tileCount, 0);
    lines.push(`total: ${listing.length} image${listing.length === 1 ? '' : 's'}, ${tiles} tile${tiles === 1 ? '' : 's'}, ${tokens} tokens`);
    this.info(lines.join('\n'));
  }

  statsCommand(): void {
    const last = this.conversation.lastResult;
    const context = this.conversation.contextUsage();
    const lines: string[] = [];
    if (last) {
      const { usage } = last;
      lines.push(
        `last turn: ${usage.promptTokens} prompt tokens (${usage.cachedTokens} from the cache, ${usage.promptTokens - usage.cachedTokens} prefilled), ${usage.completionTokens} generated`,
      );
      lines.push(`  ${formatStats(last)}`);
    } else {
      lines.push('no answer yet');
    }
    lines.push(`context: ${context.used} / ${context.limit} tokens used, ${context.remaining} left`);
    this.info(lines.join('\n'));
  }

  async saveCommand(args: string): Promise<void> {
    if (args === '') throw new UsageError('usage: /save <file.md|file.json>');
    const file = resolveLocalPath(unquoteToken(args), { cwd: this.io.cwd });
    const ext = path.extname(file).toLowerCase();
    let text: string;
    if (ext === '.json') text = `${JSON.stringify(this.conversation.toJSON(), null, 2)}\n`;
    else if (ext === '.md' || ext === '.markdown') text = this.conversation.toMarkdown({ title: 'smolvlm chat' });
    else throw new UsageError(`/save writes Markdown (.md) or JSON (.json), not "${ext || path.basename(file)}"`);
    try {
      await writeFile(file, text);
    } catch (error) {
      throw new SmolVLMError('USAGE', `cannot write ${args}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    this.note(`saved ${this.conversation.messages.length} messages to ${args}`);
  }

  async loadCommand(args: string): Promise<void> {
    if (args === '') throw new UsageError('usage: /load <file.json>');
    const file = resolveLocalPath(unquoteToken(args), { cwd: this.io.cwd });
    let data: unknown;
    try {
      data = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      if (error instanceof SyntaxError) throw new SmolVLMError('USAGE', `${args} is not a JSON transcript (${error.message})`);
      const code = (error as NodeJS.ErrnoException).code;
      throw new SmolVLMError('USAGE', code === 'ENOENT' ? `no such file: ${args}` : `cannot read ${args}: ${code ?? (error as Error).message}`);
    }
    const signal = this.#begin();
    try {
      const report = await this.conversation.restore(data, { baseDir: path.dirname(file), signal });
      for (const missing of report.missing) {
        this.renderer.warn(`image ${missing.source} of message ${missing.message + 1} was not re-attached: ${missing.reason}`);
      }
      this.note(`loaded ${report.messages} messages and ${report.images} image${report.images === 1 ? '' : 's'} from ${args}`);
    } finally {
      this.#end();
    }
  }

  helpCommand(): void {
    const width = Math.max(...COMMANDS.map((c) => c.usage.length));
    const lines = [
      'Type a message and press Enter. Image files named in a message (paths, quoted or with "\\ ",',
      '~, file://, or dragged into the terminal) are attached to it.',
      '"""  starts a multi-line message; end it with a line ending in """.',
      '',
      ...COMMANDS.map((c) => `${c.usage.padEnd(width)}  ${c.help}`),
      '',
      'Ctrl+C stops an answer (what was generated is kept). Ctrl+D or /exit quits.',
    ];
    this.info(lines.join('\n'));
  }

  // -------------------------------------------------------------------------------------------

  /** Output the user asked for (command results): stdout on a terminal, stderr in a pipe (stdout keeps the answers only). */
  info(text: string): void {
    this.renderer.stopSpinner();
    (this.interactive ? this.io.stdout : this.io.stderr).write(`${text}\n`);
  }

  /** Confirmations and status lines (not with --quiet). */
  note(text: string): void {
    if (this.renderer.quiet) return;
    this.renderer.stopSpinner();
    const stream = this.interactive ? this.io.stdout : this.io.stderr;
    stream.write(`${this.interactive ? this.renderer.out.dim(text) : text}\n`);
  }

  report(error: unknown): void {
    this.renderer.error(error);
    if (!(error instanceof UsageError) && !(isSmolVLMError(error) && error.code === 'USAGE')) this.failed = true;
  }

  #begin(): AbortSignal {
    this.#controller = new AbortController();
    return this.#controller.signal;
  }

  #end(): void {
    this.#controller = undefined;
  }
}

/** `cat.jpg (3x4 tiles + global: 13 tiles, 845 tokens)` */
export function describeImage(image: ConversationImage): string {
  const p = image.prepared;
  const name = image.path ? path.basename(image.path) : image.label;
  const grid = p.rows > 0 ? `${p.rows}x${p.cols} tiles + global = ${p.tileCount} tiles` : '1 tile';
  return `${name} (${grid}, ${p.tokens} tokens)`;
}

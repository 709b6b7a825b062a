/**
 * One chat session, whatever the input: messages (with the image files they name) become turns whose
 * answers stream to stdout; command output and notes go where the session's mode says. The loops
 * (loop.ts) feed it lines through lines.ts; the slash commands (commands.ts) act on it.
 */
import path from 'node:path';
import { isConversationVideo, isSmolVLMError, SmolVLMError, type Conversation, type ConversationMedia, type TurnResult } from '../../index.js';
import type { LoadedModel } from '../context.js';
import { classifyError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../errors.js';
import { answerJson, type Renderer } from '../render.js';
import { extractImageReferences } from './image-references.js';
import { MessageAssembler } from './input.js';

export interface SessionIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
}

/**
 * A message longer than this many characters per token of context is refused before it is
 * tokenized (tokenizing megabytes takes seconds and gigabytes only to be refused). Text averages
 * about 4 characters per token; only long runs of one symbol pack more (SmolVLM's longest token is
 * 81 characters), so no message that could fit is refused in practice.
 */
export const MAX_CHARACTERS_PER_TOKEN = 16;

export class ChatSession {
  readonly assembler = new MessageAssembler();
  /** A turn (or a command that reads images) that failed with a runtime error. */
  failed = false;
  /** A command or turn refused as a usage error (a missing file for /load, a bad /set value). */
  slipped = false;
  #controller: AbortController | undefined;

  constructor(
    readonly conversation: Conversation,
    readonly loaded: LoadedModel,
    readonly renderer: Renderer,
    readonly io: SessionIO,
    /** Prompts, colours and command output on stdout (a terminal) versus plain answers only (a pipe). */
    readonly interactive: boolean,
  ) {}

  /** Ctrl+C: stops the running answer (or image read); false when nothing was running. */
  interrupt(): boolean {
    if (!this.#controller) return false;
    this.#controller.abort(new Error('interrupted'));
    return true;
  }

  /** Runs `task` with a signal that interrupt() aborts. */
  async interruptible<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.#controller = new AbortController();
    try {
      return await task(this.#controller.signal);
    } finally {
      this.#controller = undefined;
    }
  }

  /** A message: image files it names are attached (missing ones reported), the rest is the text. */
  async sendMessage(message: string): Promise<void> {
    const limit = this.conversation.contextLimit * MAX_CHARACTERS_PER_TOKEN;
    if (message.length > limit) {
      this.report(
        new SmolVLMError(
          'CONTEXT_OVERFLOW',
          `the message is ${message.length} characters long, more than the context of ${this.conversation.contextLimit} tokens can hold ` +
            `(messages are limited to ${MAX_CHARACTERS_PER_TOKEN} characters per token of context: ${limit})`,
        ),
      );
      return;
    }
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
    try {
      const attached = await this.interruptible((signal) => this.conversation.attach(sources, signal));
      this.note(`attached ${attached.map(describeImage).join(', ')} to your next message`);
    } catch (error) {
      this.report(error);
    }
  }

  /** Generates an answer to a new message or again to the last one (/retry), streaming it. */
  async turn(kind: 'ask' | 'retry', message: { text: string; images: string[] } = { text: '', images: [] }): Promise<TurnResult | undefined> {
    const { renderer } = this;
    renderer.spin('Thinking');
    renderer.beginAnswer();
    try {
      const result = await this.interruptible((signal) => this.#stream(kind, message, signal));
      renderer.endAnswer();
      this.#afterAnswer(kind, message, result);
      return result;
    } catch (error) {
      // A refused turn printed nothing: no empty line on stdout.
      renderer.endAnswer(false);
      if (isSmolVLMError(error) && error.code === 'ABORTED') this.note('(stopped)');
      else this.report(error);
      return undefined;
    }
  }

  /** Streams the answer's pieces to stdout, trimmed at the start as the stored answer is. */
  async #stream(kind: 'ask' | 'retry', message: { text: string; images: string[] }, signal: AbortSignal): Promise<TurnResult> {
    const { renderer, conversation } = this;
    const options = { signal, onNotice: (notice: { message: string }) => renderer.warn(notice.message) };
    const stream = kind === 'ask' ? conversation.ask(message.text, message.images, options) : conversation.retry(options);
    let started = false;
    for await (let piece of stream) {
      if (!started) {
        piece = piece.trimStart();
        if (piece === '') continue;
        started = true;
      }
      renderer.write(piece);
    }
    return stream.result;
  }

  #afterAnswer(kind: 'ask' | 'retry', message: { text: string }, result: TurnResult): void {
    const { renderer, conversation } = this;
    if (result.finishReason === 'aborted') this.note('(stopped; the partial answer is kept, /retry regenerates it)');
    else if (result.finishReason === 'context') renderer.warn('the answer reached the end of the context; /clear or /save and start again');
    if (result.structured && !result.structured.complete && result.finishReason !== 'aborted') renderer.warn(`${result.structured.message}; /set max_tokens, then /retry`);
    if (renderer.json) {
      const prompt = kind === 'ask' ? message.text : [...conversation.messages].reverse().find((m) => m.role === 'user')?.text ?? '';
      renderer.writeJson({ ...answerJson({ model: this.loaded.name, dtype: this.loaded.model.dtypes, prompt }, result), cached_tokens: result.usage.cachedTokens });
    }
    renderer.stats(result);
  }

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

  /** Reports an error, remembered for the piped session's exit code (exitCode). */
  report(error: unknown): void {
    this.renderer.error(error);
    if (classifyError(error).exitCode === EXIT_USAGE) this.slipped = true;
    else this.failed = true;
  }

  /**
   * How a piped session ends: 1 when a turn failed at run time, else 2 when a line was refused as a
   * usage error (a script whose `/load` or `/set` failed must not look successful), else 0.
   */
  get exitCode(): number {
    return this.failed ? EXIT_FAILURE : this.slipped ? EXIT_USAGE : EXIT_OK;
  }
}

/** `cat.jpg (3x4 tiles + global: 13 tiles, 845 tokens)`, `clip.mp4 (video, 20 frames, 1460 tokens)` */
export function describeImage(image: ConversationMedia): string {
  const name = image.path ? path.basename(image.path) : image.label;
  if (isConversationVideo(image)) {
    const { plan, tokens } = image.prepared;
    return `${name} (video, ${plan.frames.length} frame${plan.frames.length === 1 ? '' : 's'}, ${tokens} tokens)`;
  }
  const p = image.prepared;
  const grid = p.rows > 0 ? `${p.rows}x${p.cols} tiles + global = ${p.tileCount} tiles` : '1 tile';
  return `${name} (${grid}, ${p.tokens} tokens)`;
}

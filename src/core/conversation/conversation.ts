/**
 * A multi-turn conversation over a loaded SmolVLM that never recomputes what the decoder already
 * knows: one PromptCache follows the conversation, so a follow-up turn prefills only the tokens it
 * adds, and retry() rewinds the cache to the end of the last user turn. Images are read and tiled
 * once when attached; the model's features cache keeps their vision features.
 */
import path from 'node:path';
import { SmolVLMError } from '../errors.js';
import type { FinishReason } from '../generate.js';
import { resolveLocalPath } from '../image/references.js';
import { readImageSource, STDIN_SOURCE, type ImageSourceOptions } from '../image/source.js';
import type { GenerationResult, ImageOptions, PreparedImage, SmolVLM } from '../model.js';
import { PromptCache } from '../prompt-cache.js';
import type { ChatMessage, ContentPart } from '../prompt.js';
import { validateSampling, type SamplingOptions } from '../sampling.js';
import { TextStream } from '../stream.js';

export const DEFAULT_CONVERSATION_MAX_TOKENS = 512;
/** Most tokens a turn keeps free for its answer when checking that it fits (fewer when maxTokens is lower). */
export const DEFAULT_ANSWER_RESERVE = 256;
export const TRANSCRIPT_FORMAT = 'smolvlm-chat';
export const TRANSCRIPT_VERSION = 1;

export interface ConversationSettings {
  /** 0 (default) = greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  seed?: number;
  /** Most tokens per answer (default 512). */
  maxTokens: number;
  stop?: string[];
  /** Split images into tiles (undefined: the model's default). Applies to every image of the conversation. */
  split?: boolean;
  /** Longest edge before tiling (undefined: the model's default). Applies to every image of the conversation. */
  imageSize?: number;
}

/** What to do when a turn would not fit in the context. */
export type OverflowPolicy = 'drop-oldest' | 'refuse';

export interface ConversationOptions {
  system?: string;
  settings?: Partial<ConversationSettings>;
  /** Default 'drop-oldest': the oldest turns are dropped (and announced) until the new one fits. */
  overflow?: OverflowPolicy;
  /** Tokens the conversation may use, at most the model's context (the default). */
  contextLimit?: number;
  /** Tokens kept free for the answer when checking that a turn fits (default: min(maxTokens, 256)). */
  answerReserve?: number;
  /** Where image paths are resolved, `~`, download limits. */
  imageSource?: ImageSourceOptions;
  /** The model's name as the user knows it, written into transcripts. */
  modelName?: string;
}

/** An image of the conversation: where it came from and how it was prepared. */
export interface ConversationImage {
  /** As given: a path, `file://` or http(s) URL, `data:` URI; `-` for stdin, '' for bytes. */
  readonly source: string;
  /** Absolute path when the image is a local file. */
  readonly path?: string;
  /** What to call it: the path as given, the URL, 'stdin', 'image bytes'. */
  readonly label: string;
  /** Prepared with the conversation's current image settings. */
  readonly prepared: PreparedImage;
}

export interface ConversationMessage {
  readonly role: 'user' | 'assistant';
  /** Assistant answers are stored trimmed (the template adds the space after "Assistant:"). */
  readonly text: string;
  readonly images: readonly ConversationImage[];
  /** Assistant messages: why the answer ended ('aborted': stopped early, the partial answer kept). */
  readonly finishReason?: FinishReason;
}

export type ImageArgument = string | Uint8Array | ConversationImage;

export interface ConversationNotice {
  type: 'dropped';
  /** Turns (a user message and its answer) dropped from the start. */
  turns: number;
  messages: number;
  /** Prompt tokens freed. */
  tokens: number;
  message: string;
}

export interface TurnOptions {
  signal?: AbortSignal;
  /** Told before generation starts (turns dropped to make room). */
  onNotice?: (notice: ConversationNotice) => void;
  onToken?: (id: number) => void;
}

export interface ContextUsage {
  /** Tokens of the conversation as the model sees it. */
  used: number;
  limit: number;
  remaining: number;
}

export interface TurnResult extends GenerationResult {
  /** The answer as stored in the conversation (trimmed). */
  answer: string;
  notices: ConversationNotice[];
  /** After the turn. */
  context: ContextUsage;
}

export interface ImageListing {
  image: ConversationImage;
  /** Index into messages; undefined for an image waiting for the next message. */
  message?: number;
}

// ---------------------------------------------------------------------------------------------
// Transcript format (documented in the README, "Chat")

export interface TranscriptImage {
  source: string;
  path?: string;
  label?: string;
}

export interface TranscriptMessage {
  role: 'system' | 'user' | 'assistant';
  text: string;
  /** Image references; a plain string is read as `{ source }`. */
  images?: Array<TranscriptImage | string>;
  finish_reason?: FinishReason;
}

export interface TranscriptSettings {
  temperature?: number;
  top_k?: number;
  top_p?: number;
  min_p?: number;
  repetition_penalty?: number;
  seed?: number;
  max_tokens?: number;
  stop?: string[];
  split?: boolean;
  image_size?: number;
}

export interface ConversationTranscript {
  format: typeof TRANSCRIPT_FORMAT;
  version: number;
  model?: string;
  saved?: string;
  settings: TranscriptSettings;
  messages: TranscriptMessage[];
}

export interface MissingImage {
  /** Index of the message in the transcript. */
  message: number;
  source: string;
  reason: string;
}

export interface RestoreOptions {
  /** Directory relative image paths are also tried against (the transcript's folder). */
  baseDir?: string;
  signal?: AbortSignal;
}

export interface RestoreReport {
  messages: number;
  images: number;
  /** Images that could not be re-attached; their messages keep their text. */
  missing: MissingImage[];
}

// ---------------------------------------------------------------------------------------------

interface ImageEntry extends ConversationImage {
  prepared: PreparedImage;
  bytes: Uint8Array;
  optionsKey: string;
}

interface MessageEntry {
  role: 'user' | 'assistant';
  text: string;
  images: ImageEntry[];
  finishReason?: FinishReason;
}

const SETTING_NAMES: ReadonlyArray<[keyof ConversationSettings, keyof TranscriptSettings]> = [
  ['temperature', 'temperature'],
  ['topK', 'top_k'],
  ['topP', 'top_p'],
  ['minP', 'min_p'],
  ['repetitionPenalty', 'repetition_penalty'],
  ['seed', 'seed'],
  ['maxTokens', 'max_tokens'],
  ['stop', 'stop'],
  ['split', 'split'],
  ['imageSize', 'image_size'],
];

export function validateSettings(settings: ConversationSettings): void {
  const { temperature, topK, topP, minP, repetitionPenalty, seed } = settings;
  validateSampling({ temperature, topK, topP, minP, repetitionPenalty, seed });
  if (!Number.isSafeInteger(settings.maxTokens) || settings.maxTokens < 1) throw new SmolVLMError('USAGE', 'max tokens must be an integer >= 1');
  if (settings.imageSize !== undefined && (!Number.isSafeInteger(settings.imageSize) || settings.imageSize < 1)) {
    throw new SmolVLMError('USAGE', 'image size must be an integer >= 1');
  }
  if (settings.split !== undefined && typeof settings.split !== 'boolean') throw new SmolVLMError('USAGE', 'split must be true or false');
  if (settings.stop !== undefined && (!Array.isArray(settings.stop) || settings.stop.some((s) => typeof s !== 'string' || s === ''))) {
    throw new SmolVLMError('USAGE', 'stop must be a list of non-empty strings');
  }
}

export class Conversation {
  readonly model: SmolVLM;
  /** The decoder state of the conversation; every turn goes through it. */
  readonly cache = new PromptCache();
  readonly overflow: OverflowPolicy;
  readonly contextLimit: number;
  modelName: string | undefined;
  #system: string | undefined;
  #settings: ConversationSettings;
  #messages: MessageEntry[] = [];
  #pending: ImageEntry[] = [];
  #last: TurnResult | undefined;
  #busy = false;
  readonly #answerReserve: number | undefined;
  readonly #imageSource: ImageSourceOptions;

  constructor(model: SmolVLM, options: ConversationOptions = {}) {
    this.model = model;
    this.overflow = options.overflow ?? 'drop-oldest';
    if (this.overflow !== 'drop-oldest' && this.overflow !== 'refuse') throw new SmolVLMError('USAGE', `unknown overflow policy ${String(this.overflow)}`);
    const limit = options.contextLimit ?? model.contextLength;
    if (!Number.isSafeInteger(limit) || limit < 2) throw new SmolVLMError('USAGE', 'context limit must be an integer >= 2');
    this.contextLimit = Math.min(limit, model.contextLength);
    this.#answerReserve = options.answerReserve;
    this.#imageSource = options.imageSource ?? {};
    this.modelName = options.modelName;
    this.#settings = { maxTokens: DEFAULT_CONVERSATION_MAX_TOKENS };
    this.updateSettings(options.settings ?? {});
    this.setSystem(options.system);
  }

  get system(): string | undefined {
    return this.#system;
  }

  /** Sets (or with undefined / '' removes) the system message; the next turn recomputes the conversation. */
  setSystem(text: string | undefined): void {
    this.#system = text === undefined || text.trim() === '' ? undefined : text;
  }

  get settings(): Readonly<ConversationSettings> {
    return { ...this.#settings, ...(this.#settings.stop ? { stop: [...this.#settings.stop] } : {}) };
  }

  /**
   * Changes settings (a key present with the value undefined resets it to the default). Validated as
   * a whole: on error nothing changes. Image settings apply to every image of the conversation from
   * the next turn on (the images are re-tiled from their bytes).
   */
  updateSettings(changes: Partial<ConversationSettings>): void {
    const next: ConversationSettings = { ...this.#settings };
    for (const [key, value] of Object.entries(changes) as Array<[keyof ConversationSettings, unknown]>) {
      if (!SETTING_NAMES.some(([name]) => name === key)) throw new SmolVLMError('USAGE', `unknown setting ${key}`);
      if (value === undefined) {
        if (key === 'maxTokens') next.maxTokens = DEFAULT_CONVERSATION_MAX_TOKENS;
        else delete next[key];
      } else {
        (next as unknown as Record<string, unknown>)[key] = key === 'stop' ? [...(value as string[])] : value;
      }
    }
    validateSettings(next);
    this.#settings = next;
  }

  get messages(): readonly ConversationMessage[] {
    return this.#messages.map(publicMessage);
  }

  /** Images attached with attach() that go with the next message. */
  get pendingImages(): readonly ConversationImage[] {
    return this.#pending.map(publicImage);
  }

  /** The last completed turn (usage, timings, context after it). */
  get lastResult(): TurnResult | undefined {
    return this.#last;
  }

  /** True while a turn is generated. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Every image in the conversation in prompt order, then the pending ones. */
  images(): ImageListing[] {
    const listed: ImageListing[] = [];
    this.#messages.forEach((m, index) => m.images.forEach((image) => listed.push({ image: publicImage(image), message: index })));
    for (const image of this.#pending) listed.push({ image: publicImage(image) });
    return listed;
  }

  /**
   * Reads and tiles images now (errors name the image: IMAGE_NOT_FOUND, IMAGE_INVALID, …) and keeps
   * them for the next message. All or nothing.
   */
  async attach(sources: readonly ImageArgument[], signal?: AbortSignal): Promise<ConversationImage[]> {
    const entries = await this.#prepare(sources, signal);
    this.#pending.push(...entries);
    return entries.map(publicImage);
  }

  /** The conversation's tokens against its limit. */
  contextUsage(): ContextUsage {
    const used = this.#messages.length === 0 && this.#system === undefined ? 0 : this.#countTokens(this.#messages, false);
    return { used, limit: this.contextLimit, remaining: Math.max(0, this.contextLimit - used) };
  }

  /** The conversation as core ChatMessages (prepared images). */
  toChatMessages(): ChatMessage[] {
    return this.#chatMessages(this.#messages);
  }

  /**
   * Sends a user message (with the pending images, then `images`, before the text) and streams the
   * answer. On success the message and the trimmed answer join the conversation; an answer stopped by
   * the signal is kept as far as it got. On an error nothing changes (pending images stay pending).
   */
  ask(text: string, images: readonly ImageArgument[] = [], options: TurnOptions = {}): TextStream<TurnResult> {
    return new TextStream(async (emit) => {
      this.#enter();
      const pending = this.#pending;
      try {
        const added = await this.#prepare(images, options.signal);
        const all = [...pending, ...added];
        if (text.trim() === '' && all.length === 0) throw new SmolVLMError('USAGE', 'empty message');
        this.#pending = [];
        return await this.#turn({ role: 'user', text, images: all }, emit, options);
      } catch (error) {
        this.#pending = pending;
        throw error;
      } finally {
        this.#busy = false;
      }
    });
  }

  /**
   * Regenerates the last answer: the cache is rewound to the end of the last user turn (nothing
   * before it is computed again). On an error the previous answer is restored.
   */
  retry(options: TurnOptions = {}): TextStream<TurnResult> {
    return new TextStream(async (emit) => {
      this.#enter();
      try {
        const last = this.#messages.at(-1);
        if (!last || last.role !== 'assistant' || !this.#messages.some((m) => m.role === 'user')) {
          throw new SmolVLMError('USAGE', 'there is no answer to regenerate yet');
        }
        this.#messages.pop();
        try {
          return await this.#turn(undefined, emit, options);
        } catch (error) {
          if (this.#messages.at(-1)?.role === 'user') this.#messages.push(last);
          throw error;
        }
      } finally {
        this.#busy = false;
      }
    });
  }

  /** Forgets the messages, the pending images and the last result; keeps the system message and settings. */
  clear(): void {
    if (this.#busy) throw new SmolVLMError('USAGE', 'a turn is in progress');
    this.#messages = [];
    this.#pending = [];
    this.#last = undefined;
    this.cache.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Transcripts

  /** The documented transcript: messages with image references (not pixels) and the settings. */
  toJSON(): ConversationTranscript {
    const messages: TranscriptMessage[] = [];
    if (this.#system !== undefined) messages.push({ role: 'system', text: this.#system });
    for (const m of this.#messages) {
      const message: TranscriptMessage = { role: m.role, text: m.text };
      if (m.images.length > 0) message.images = m.images.map(transcriptImage);
      if (m.finishReason !== undefined) message.finish_reason = m.finishReason;
      messages.push(message);
    }
    return {
      format: TRANSCRIPT_FORMAT,
      version: TRANSCRIPT_VERSION,
      ...(this.modelName !== undefined ? { model: this.modelName } : {}),
      saved: new Date().toISOString(),
      settings: transcriptSettings(this.#settings),
      messages,
    };
  }

  /**
   * Replaces this conversation with a transcript (see toJSON): settings, system message, messages,
   * images re-read from their sources. An image that cannot be read is reported in `missing` and left
   * out; its message keeps its text. A transcript that is not valid throws (USAGE) and changes nothing.
   */
  async restore(data: unknown, options: RestoreOptions = {}): Promise<RestoreReport> {
    if (this.#busy) throw new SmolVLMError('USAGE', 'a turn is in progress');
    const transcript = parseTranscript(data);
    const settings: ConversationSettings = { maxTokens: DEFAULT_CONVERSATION_MAX_TOKENS };
    for (const [name, key] of SETTING_NAMES) {
      const value = transcript.settings[key];
      if (value !== undefined) (settings as unknown as Record<string, unknown>)[name] = value;
    }
    try {
      validateSettings(settings);
    } catch (error) {
      throw new SmolVLMError('USAGE', `transcript settings: ${(error as Error).message}`);
    }
    const previous = this.#settings;
    this.#settings = settings;
    const missing: MissingImage[] = [];
    const messages: MessageEntry[] = [];
    let system: string | undefined;
    let images = 0;
    try {
      for (const [index, message] of transcript.messages.entries()) {
        if (message.role === 'system') {
          system = message.text;
          continue;
        }
        const entries: ImageEntry[] = [];
        for (const ref of message.images ?? []) {
          const image = typeof ref === 'string' ? { source: ref } : ref;
          try {
            entries.push(await this.#restoreImage(image, options));
            images++;
          } catch (error) {
            if ((error as SmolVLMError).code === 'ABORTED') throw error;
            missing.push({ message: index, source: image.source, reason: (error as Error).message });
          }
        }
        messages.push({ role: message.role, text: message.text, images: entries, ...(message.finish_reason ? { finishReason: message.finish_reason } : {}) });
      }
    } catch (error) {
      this.#settings = previous;
      throw error;
    }
    this.setSystem(system);
    this.#messages = messages;
    this.#pending = [];
    this.#last = undefined;
    if (transcript.model !== undefined && this.modelName === undefined) this.modelName = transcript.model;
    return { messages: messages.length, images, missing };
  }

  /** A new conversation from a transcript; see restore(). */
  static async fromJSON(
    model: SmolVLM,
    data: unknown,
    options: Omit<ConversationOptions, 'settings' | 'system'> & RestoreOptions = {},
  ): Promise<{ conversation: Conversation } & RestoreReport> {
    const conversation = new Conversation(model, options);
    const report = await conversation.restore(data, options);
    return { conversation, ...report };
  }

  /** A readable Markdown transcript (not meant to be loaded back; use toJSON for that). */
  toMarkdown(options: { title?: string } = {}): string {
    const lines: string[] = [`# ${options.title ?? 'Conversation'}`, ''];
    const meta = [this.modelName !== undefined ? `model ${this.modelName}` : undefined, `saved ${new Date().toISOString()}`].filter(Boolean);
    lines.push(`*smolvlm chat · ${meta.join(' · ')}*`, '');
    const settings = Object.entries(transcriptSettings(this.#settings)).map(([k, v]) => `${k} ${Array.isArray(v) ? JSON.stringify(v) : String(v)}`);
    lines.push(`Settings: ${settings.join(', ')}`, '');
    if (this.#system !== undefined) lines.push('## System', '', this.#system, '');
    for (const m of this.#messages) {
      lines.push(m.role === 'user' ? '## User' : '## Assistant', '');
      for (const image of m.images) {
        const target = image.path ?? (image.source !== '' && image.source !== STDIN_SOURCE && !/^data:/i.test(image.source) ? image.source : undefined);
        lines.push(target ? `![${markdownText(path.basename(image.label))}](<${target}>)` : `*(image: ${markdownText(image.label)})*`);
      }
      if (m.images.length > 0) lines.push('');
      if (m.text !== '') lines.push(m.text, '');
      if (m.finishReason === 'aborted') lines.push('*(stopped)*', '');
    }
    return `${lines.join('\n').trimEnd()}\n`;
  }

  // -------------------------------------------------------------------------------------------

  #enter(): void {
    if (this.#busy) throw new SmolVLMError('USAGE', 'a turn is in progress');
    this.#busy = true;
  }

  async #turn(user: MessageEntry | undefined, emit: (piece: string) => void, options: TurnOptions): Promise<TurnResult> {
    await this.#refreshImages([...this.#messages, ...(user ? [user] : [])], options.signal);
    const all = user ? [...this.#messages, user] : this.#messages;
    const current = all.length - 1 - [...all].reverse().findIndex((m) => m.role === 'user');
    const reserve = Math.max(1, this.#answerReserve ?? Math.min(this.#settings.maxTokens, DEFAULT_ANSWER_RESERVE));

    // Turn boundaries before the current user message: dropping k turns starts the prompt at starts[k].
    const starts = [0, ...all.flatMap((m, i) => (m.role === 'user' && i > 0 && i <= current ? [i] : []))];
    let dropped = 0;
    let promptTokens = this.#countTokens(all, true);
    const fullTokens = promptTokens;
    while (promptTokens + reserve > this.contextLimit) {
      if (this.overflow === 'refuse' || starts[dropped] === current) {
        throw new SmolVLMError(
          'CONTEXT_OVERFLOW',
          `this turn needs ${promptTokens} prompt tokens and ${reserve} for the answer but the context limit is ${this.contextLimit}` +
            (this.overflow === 'refuse' && current > 0 ? '; clear the conversation' : '') +
            (all[current]!.images.length > 0 ? '; use fewer or smaller images' : ''),
        );
      }
      dropped++;
      promptTokens = this.#countTokens(all.slice(starts[dropped]), true);
    }
    const notices: ConversationNotice[] = [];
    if (dropped > 0) {
      const removed = starts[dropped]!;
      this.#messages = this.#messages.slice(removed);
      const notice: ConversationNotice = {
        type: 'dropped',
        turns: dropped,
        messages: removed,
        tokens: fullTokens - promptTokens,
        message: `dropped the oldest ${dropped === 1 ? 'turn' : `${dropped} turns`} (${fullTokens - promptTokens} tokens) to fit the context limit of ${this.contextLimit} tokens`,
      };
      notices.push(notice);
      options.onNotice?.(notice);
    }

    const kept = user ? [...this.#messages, user] : this.#messages;
    const room = this.contextLimit - promptTokens;
    const maxNewTokens = Math.min(this.#settings.maxTokens, room);
    const stream = this.model.generate({
      messages: this.#chatMessages(kept),
      maxNewTokens,
      sampling: this.#sampling(),
      ...(this.#settings.stop ? { stop: this.#settings.stop } : {}),
      image: this.#imageOptions(),
      imageSource: this.#imageSource,
      ...(options.signal ? { signal: options.signal } : {}),
      cache: this.cache,
      ...(options.onToken ? { onToken: options.onToken } : {}),
    });
    for await (const piece of stream) emit(piece);
    const result = await stream.result;
    const finishReason: FinishReason =
      result.finishReason === 'length' && maxNewTokens < this.#settings.maxTokens && result.ids.length >= maxNewTokens ? 'context' : result.finishReason;
    const answer = result.text.trim();
    if (user) this.#messages.push(user);
    this.#messages.push({ role: 'assistant', text: answer, images: [], finishReason });
    const turn: TurnResult = { ...result, finishReason, answer, notices, context: this.contextUsage() };
    this.#last = turn;
    return turn;
  }

  #chatMessages(messages: readonly MessageEntry[]): ChatMessage[] {
    const chat: ChatMessage[] = [];
    if (this.#system !== undefined) chat.push({ role: 'system', content: [{ type: 'text', text: this.#system }] });
    for (const m of messages) {
      const content: ContentPart[] = m.images.map((image) => ({ type: 'image' as const, image: image.prepared }));
      if (m.text !== '' || content.length === 0) content.push({ type: 'text', text: m.text });
      chat.push({ role: m.role, content });
    }
    return chat;
  }

  #countTokens(messages: readonly MessageEntry[], generationPrompt: boolean): number {
    const images = messages.flatMap((m) => m.images.map((i) => i.prepared));
    return this.model.tokenize(this.#chatMessages(messages), images, generationPrompt).ids.length;
  }

  #sampling(): SamplingOptions {
    const { temperature, topK, topP, minP, repetitionPenalty, seed } = this.#settings;
    const sampling: SamplingOptions = {};
    if (temperature !== undefined) sampling.temperature = temperature;
    if (topK !== undefined) sampling.topK = topK;
    if (topP !== undefined) sampling.topP = topP;
    if (minP !== undefined) sampling.minP = minP;
    if (repetitionPenalty !== undefined) sampling.repetitionPenalty = repetitionPenalty;
    if (seed !== undefined) sampling.seed = seed;
    return sampling;
  }

  #imageOptions(): ImageOptions {
    const options: ImageOptions = {};
    if (this.#settings.split !== undefined) options.doImageSplitting = this.#settings.split;
    if (this.#settings.imageSize !== undefined) options.longestEdge = this.#settings.imageSize;
    return options;
  }

  #optionsKey(): string {
    return `${this.#settings.split ?? 'default'}:${this.#settings.imageSize ?? 'default'}`;
  }

  async #prepare(sources: readonly ImageArgument[], signal: AbortSignal | undefined): Promise<ImageEntry[]> {
    const entries: ImageEntry[] = [];
    for (const source of sources) {
      if (typeof source === 'object' && !(source instanceof Uint8Array)) {
        entries.push(await this.#fromImage(source, signal));
        continue;
      }
      const loaded = await readImageSource(source, { ...this.#imageSource, ...(signal ? { signal } : {}) });
      const given = typeof source === 'string' ? source : '';
      const local = loaded.source === 'file' ? resolveLocalPath(given, this.#imageSource) : undefined;
      entries.push(await this.#entry(loaded.bytes, { source: given, label: loaded.label, ...(local ? { path: local } : {}) }));
    }
    return entries;
  }

  async #fromImage(image: ConversationImage, signal: AbortSignal | undefined): Promise<ImageEntry> {
    const known = [...this.#messages.flatMap((m) => m.images), ...this.#pending].find((e) => e === image || e.prepared === image.prepared);
    if (known) return { ...known };
    const bytes = (image as Partial<ImageEntry>).bytes;
    if (bytes) return this.#entry(bytes, image);
    const [entry] = await this.#prepare([image.path ?? image.source], signal);
    return { ...entry!, source: image.source, label: image.label };
  }

  async #entry(bytes: Uint8Array, about: { source: string; label: string; path?: string }): Promise<ImageEntry> {
    const prepared = await this.model.prepareImage(bytes, this.#imageOptions());
    return {
      source: about.source,
      label: about.label,
      ...(about.path !== undefined ? { path: about.path } : {}),
      prepared: { ...prepared, label: about.label },
      bytes,
      optionsKey: this.#optionsKey(),
    };
  }

  /** Re-tiles images prepared under other image settings (changed with updateSettings). */
  async #refreshImages(messages: readonly MessageEntry[], signal: AbortSignal | undefined): Promise<void> {
    const key = this.#optionsKey();
    for (const entry of [...messages.flatMap((m) => m.images), ...this.#pending]) {
      if (entry.optionsKey === key) continue;
      if (signal?.aborted) throw new SmolVLMError('ABORTED', 'generation was cancelled');
      const fresh = await this.#entry(entry.bytes, entry);
      entry.prepared = fresh.prepared;
      entry.optionsKey = key;
    }
  }

  async #restoreImage(image: TranscriptImage, options: RestoreOptions): Promise<ImageEntry> {
    const label = image.label ?? image.source;
    if (image.source === STDIN_SOURCE) throw new SmolVLMError('IMAGE_NOT_FOUND', 'it was read from stdin and cannot be read again');
    if (image.source === '' && image.path === undefined) throw new SmolVLMError('IMAGE_NOT_FOUND', 'it was given as bytes and has no source to read again');
    const candidates: string[] = [];
    if (image.path !== undefined) candidates.push(image.path);
    if (image.source !== '') {
      const isUrl = /^[a-z][a-z0-9+.-]*:/i.test(image.source) && !/^[a-z]:[\\/]/i.test(image.source);
      if (!isUrl && options.baseDir !== undefined && !path.isAbsolute(image.source) && !image.source.startsWith('~')) {
        candidates.push(path.resolve(options.baseDir, image.source));
      }
      candidates.push(image.source);
    }
    let firstError: unknown;
    for (const candidate of candidates) {
      try {
        const loaded = await readImageSource(candidate, { ...this.#imageSource, ...(options.signal ? { signal: options.signal } : {}) });
        const local = loaded.source === 'file' ? resolveLocalPath(candidate, this.#imageSource) : undefined;
        return await this.#entry(loaded.bytes, { source: image.source, label, ...(local ? { path: local } : {}) });
      } catch (error) {
        if ((error as SmolVLMError).code === 'ABORTED') throw error;
        firstError ??= error;
        if ((error as SmolVLMError).code !== 'IMAGE_NOT_FOUND') break;
      }
    }
    throw firstError;
  }
}

function publicImage(entry: ImageEntry): ConversationImage {
  // The entry itself (so that it can be passed back to ask()/attach()); bytes stay an implementation detail.
  return entry;
}

function publicMessage(entry: MessageEntry): ConversationMessage {
  return { role: entry.role, text: entry.text, images: entry.images.map(publicImage), ...(entry.finishReason ? { finishReason: entry.finishReason } : {}) };
}

function transcriptImage(image: ImageEntry): TranscriptImage {
  const out: TranscriptImage = { source: image.source };
  if (image.path !== undefined) out.path = image.path;
  if (image.label !== image.source) out.label = image.label;
  return out;
}

function transcriptSettings(settings: ConversationSettings): TranscriptSettings {
  const out: Record<string, unknown> = {};
  for (const [name, key] of SETTING_NAMES) {
    const value = settings[name];
    if (value !== undefined) out[key] = Array.isArray(value) ? [...value] : value;
  }
  return out as TranscriptSettings;
}

function markdownText(text: string): string {
  return text.replace(/([\\`*_[\]])/g, '\\$1');
}

const FINISH_REASONS: readonly FinishReason[] = ['eos', 'length', 'stop', 'context', 'aborted'];

/** Checks the shape of a transcript; throws SmolVLMError('USAGE') naming the first problem. */
export function parseTranscript(data: unknown): ConversationTranscript {
  const fail = (what: string): never => {
    throw new SmolVLMError('USAGE', `not a smolvlm chat transcript: ${what}`);
  };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) fail('expected a JSON object');
  const t = data as Record<string, unknown>;
  if (t.format !== TRANSCRIPT_FORMAT) fail(`"format" must be "${TRANSCRIPT_FORMAT}"`);
  if (typeof t.version !== 'number' || t.version > TRANSCRIPT_VERSION) fail(`unsupported "version" ${JSON.stringify(t.version)} (this smolvlm reads ${TRANSCRIPT_VERSION})`);
  const settings = t.settings ?? {};
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) fail('"settings" must be an object');
  const known = new Set(SETTING_NAMES.map(([, key]) => key as string));
  for (const [key, value] of Object.entries(settings as Record<string, unknown>)) {
    if (!known.has(key)) fail(`unknown setting "${key}"`);
    const ok =
      value === null ||
      (key === 'split' ? typeof value === 'boolean' : key === 'stop' ? Array.isArray(value) && value.every((s) => typeof s === 'string') : typeof value === 'number');
    if (!ok) fail(`setting "${key}" has the wrong type`);
  }
  if (!Array.isArray(t.messages)) fail('"messages" must be an array');
  const messages = (t.messages as unknown[]).map((raw, i): TranscriptMessage => {
    const m = raw as Record<string, unknown>;
    if (typeof m !== 'object' || m === null) fail(`message ${i + 1} is not an object`);
    if (m.role !== 'system' && m.role !== 'user' && m.role !== 'assistant') fail(`message ${i + 1} has role ${JSON.stringify(m.role)}`);
    if (typeof m.text !== 'string') fail(`message ${i + 1} has no "text" string`);
    if (m.role === 'system' && i !== 0) fail('the system message must come first');
    const rawImages: unknown = m.images ?? [];
    if (!Array.isArray(rawImages)) fail(`message ${i + 1}: "images" must be an array`);
    const images = rawImages as unknown[];
    if (images.length > 0 && m.role !== 'user') fail(`message ${i + 1}: only user messages have images`);
    for (const image of images) {
      const ok = typeof image === 'string' || (typeof image === 'object' && image !== null && typeof (image as TranscriptImage).source === 'string');
      if (!ok) fail(`message ${i + 1}: an image must be a string or { "source": "…" }`);
    }
    if (m.finish_reason !== undefined && !FINISH_REASONS.includes(m.finish_reason as FinishReason)) fail(`message ${i + 1}: unknown finish_reason`);
    return {
      role: m.role as TranscriptMessage['role'],
      text: m.text as string,
      ...(images.length > 0 ? { images: images as TranscriptImage[] } : {}),
      ...(m.finish_reason !== undefined ? { finish_reason: m.finish_reason as FinishReason } : {}),
    };
  });
  const cleanSettings = Object.fromEntries(Object.entries(settings as Record<string, unknown>).filter(([, v]) => v !== null)) as TranscriptSettings;
  return {
    format: TRANSCRIPT_FORMAT,
    version: t.version as number,
    ...(typeof t.model === 'string' ? { model: t.model } : {}),
    ...(typeof t.saved === 'string' ? { saved: t.saved } : {}),
    settings: cleanSettings,
    messages,
  };
}

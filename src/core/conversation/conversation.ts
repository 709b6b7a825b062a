/**
 * A multi-turn conversation over a loaded SmolVLM that never recomputes what the decoder already
 * knows: one PromptCache follows the conversation, so a follow-up turn prefills only the tokens it
 * adds, and retry() rewinds the cache to the end of the last user turn. Images are read and tiled
 * (videos probed and sampled) once when attached (images.ts); the model's features cache keeps their
 * vision features.
 */
import { SmolVLMError } from '../errors.js';
import type { FinishReason } from '../generation/types.js';
import type { ImageSourceOptions } from '../image/source.js';
import type { GenerationResult, SmolVLM } from '../model.js';
import { PromptCache } from '../generation/prompt-cache.js';
import { checkFormat } from '../generation/request.js';
import type { ChatMessage, ContentPart } from '../prompt.js';
import type { SamplingOptions } from '../generation/sampling.js';
import { isSettingKey, validateSettings } from '../settings.js';
import type { OutputFormat } from '../structured/index.js';
import { TextStream } from '../generation/stream.js';
import {
  imageOptions,
  ImagePreparer,
  isVideoEntry,
  listImages,
  type ConversationMedia,
  type ImageArgument,
  type ImageEntry,
  type ImageListing,
  type MediaEntry,
} from './images.js';
import { conversationMarkdown, type MarkdownOptions } from './markdown.js';
import { readTranscript, writeTranscript, type ConversationTranscript, type RestoreOptions, type RestoreReport } from './transcript.js';
import { DEFAULT_CONVERSATION_MAX_TOKENS, type ConversationMessage, type ConversationSettings, type ConversationSnapshot, type MessageEntry } from './types.js';

/** Most tokens a turn keeps free for its answer when checking that it fits (fewer when maxTokens is lower). */
export const DEFAULT_ANSWER_RESERVE = 256;

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
  /** Structured output for every answer (see setFormat). */
  format?: OutputFormat;
}

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

/** The prompt of a turn once it fits the context. */
interface FittedPrompt {
  /** Its tokens, generation prompt included. */
  tokens: number;
  notices: ConversationNotice[];
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
  #format: OutputFormat | undefined;
  #messages: MessageEntry[] = [];
  #pending: MediaEntry[] = [];
  #last: TurnResult | undefined;
  #busy = false;
  readonly #answerReserve: number | undefined;
  readonly #images: ImagePreparer;

  constructor(model: SmolVLM, options: ConversationOptions = {}) {
    this.model = model;
    this.overflow = options.overflow ?? 'drop-oldest';
    if (this.overflow !== 'drop-oldest' && this.overflow !== 'refuse') throw new SmolVLMError('USAGE', `unknown overflow policy ${String(this.overflow)}`);
    const limit = options.contextLimit ?? model.contextLength;
    if (!Number.isSafeInteger(limit) || limit < 2) throw new SmolVLMError('USAGE', 'context limit must be an integer >= 2');
    this.contextLimit = Math.min(limit, model.contextLength);
    this.#answerReserve = options.answerReserve;
    this.#images = new ImagePreparer(model, options.imageSource ?? {});
    this.modelName = options.modelName;
    this.#settings = { maxTokens: DEFAULT_CONVERSATION_MAX_TOKENS };
    this.updateSettings(options.settings ?? {});
    this.setSystem(options.system);
    this.setFormat(options.format);
  }

  /** The answers' format (structured output), or undefined for free text. */
  get format(): OutputFormat | undefined {
    return this.#format;
  }

  /**
   * Constrains the next answers to JSON ('json') or to a JSON Schema ({ schema }); undefined turns it
   * off. Checked at once (USAGE naming the problem); not while stop strings are set.
   */
  setFormat(format: OutputFormat | undefined): void {
    if (format !== undefined) checkFormat(format, this.#settings.stop);
    this.#format = format;
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
   * a whole by the settings table: on error nothing changes. Image settings apply to every image of
   * the conversation from the next turn on (the images are re-tiled from their bytes).
   */
  updateSettings(changes: Partial<ConversationSettings>): void {
    const next: ConversationSettings = { ...this.#settings };
    for (const [key, value] of Object.entries(changes)) {
      if (!isSettingKey(key)) throw new SmolVLMError('USAGE', `unknown setting ${key}`);
      if (value !== undefined) Object.assign(next, { [key]: Array.isArray(value) ? [...value] : value });
      else if (key === 'maxTokens') next.maxTokens = DEFAULT_CONVERSATION_MAX_TOKENS;
      else delete next[key];
    }
    validateSettings({ ...next });
    this.#settings = next;
  }

  get messages(): readonly ConversationMessage[] {
    return this.#messages.map(publicMessage);
  }

  /** Images and videos attached with attach() that go with the next message. */
  get pendingImages(): readonly ConversationMedia[] {
    return [...this.#pending];
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
    return listImages(this.#messages, this.#pending);
  }

  /**
   * Reads and tiles images now (errors name the image: IMAGE_NOT_FOUND, IMAGE_INVALID, …) and keeps
   * them for the next message. All or nothing.
   */
  async attach(sources: readonly ImageArgument[], signal?: AbortSignal): Promise<ConversationMedia[]> {
    const entries = await this.#prepare(sources, signal);
    this.#pending.push(...entries);
    return entries;
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
    this.#notBusy();
    this.#messages = [];
    this.#pending = [];
    this.#last = undefined;
    this.cache.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Transcripts (transcript.ts) and Markdown (markdown.ts)

  /** The documented transcript: messages with image references (not pixels) and the settings. */
  toJSON(): ConversationTranscript {
    return writeTranscript(this.#snapshot());
  }

  /**
   * Replaces this conversation with a transcript (see toJSON): settings, system message, messages,
   * images re-read from their sources. An image that cannot be read is reported in `missing` and left
   * out; its message keeps its text. A transcript that is not valid throws (USAGE) and changes nothing.
   */
  async restore(data: unknown, options: RestoreOptions = {}): Promise<RestoreReport> {
    this.#notBusy();
    const restored = await readTranscript(data, this.#images, options);
    this.#settings = restored.settings;
    this.setSystem(restored.system);
    this.#messages = restored.messages;
    this.#pending = [];
    this.#last = undefined;
    if (restored.model !== undefined && this.modelName === undefined) this.modelName = restored.model;
    return restored.report;
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
  toMarkdown(options: MarkdownOptions = {}): string {
    return conversationMarkdown(this.#snapshot(), options);
  }

  // -------------------------------------------------------------------------------------------

  #snapshot(): ConversationSnapshot {
    return { modelName: this.modelName, system: this.#system, settings: this.#settings, messages: this.#messages };
  }

  #notBusy(): void {
    if (this.#busy) throw new SmolVLMError('USAGE', 'a turn is in progress');
  }

  #enter(): void {
    this.#notBusy();
    this.#busy = true;
  }

  async #turn(user: MessageEntry | undefined, emit: (piece: string) => void, options: TurnOptions): Promise<TurnResult> {
    const images = [...this.#messages, ...(user ? [user] : [])].flatMap((m) => m.images);
    await this.#images.retile([...images, ...this.#pending], this.#settings, options.signal);
    const prompt = this.#fit(user, options);
    const kept = user ? [...this.#messages, user] : this.#messages;
    const maxNewTokens = Math.min(this.#settings.maxTokens, this.contextLimit - prompt.tokens);
    const stream = this.model.generate({
      messages: this.#chatMessages(kept),
      maxNewTokens,
      sampling: this.#sampling(),
      ...(this.#settings.stop ? { stop: this.#settings.stop } : {}),
      image: imageOptions(this.#settings),
      imageSource: this.#images.sourceOptions,
      ...(options.signal ? { signal: options.signal } : {}),
      cache: this.cache,
      ...(options.onToken ? { onToken: options.onToken } : {}),
      ...(this.#format !== undefined ? { format: this.#format } : {}),
    });
    for await (const piece of stream) emit(piece);
    const result = await stream.result;
    // An answer cut by the end of the context (not by maxTokens) says so.
    const finishReason: FinishReason =
      result.finishReason === 'length' && maxNewTokens < this.#settings.maxTokens && result.ids.length >= maxNewTokens ? 'context' : result.finishReason;
    const answer = result.text.trim();
    if (user) this.#messages.push(user);
    this.#messages.push({ role: 'assistant', text: answer, images: [], finishReason });
    const turn: TurnResult = { ...result, finishReason, answer, notices: prompt.notices, context: this.contextUsage() };
    this.#last = turn;
    return turn;
  }

  /**
   * Makes the turn fit the context with room for an answer: drops the oldest turns (announcing it)
   * or, with the 'refuse' policy or when the current message alone is too large, throws CONTEXT_OVERFLOW.
   */
  #fit(user: MessageEntry | undefined, options: TurnOptions): FittedPrompt {
    const all = user ? [...this.#messages, user] : this.#messages;
    const current = all.length - 1 - [...all].reverse().findIndex((m) => m.role === 'user');
    const reserve = Math.max(1, this.#answerReserve ?? Math.min(this.#settings.maxTokens, DEFAULT_ANSWER_RESERVE));

    // Turn boundaries before the current user message: dropping k turns starts the prompt at starts[k].
    const starts = [0, ...all.flatMap((m, i) => (m.role === 'user' && i > 0 && i <= current ? [i] : []))];
    let dropped = 0;
    let tokens = this.#countTokens(all, true);
    const fullTokens = tokens;
    while (tokens + reserve > this.contextLimit) {
      if (this.overflow === 'refuse' || starts[dropped] === current) {
        throw new SmolVLMError(
          'CONTEXT_OVERFLOW',
          `this turn needs ${tokens} prompt tokens and ${reserve} for the answer but the context limit is ${this.contextLimit}` +
            (this.overflow === 'refuse' && current > 0 ? '; clear the conversation' : '') +
            overflowHint(all[current]!.images),
        );
      }
      dropped++;
      tokens = this.#countTokens(all.slice(starts[dropped]), true);
    }
    if (dropped === 0) return { tokens, notices: [] };
    const removed = starts[dropped]!;
    this.#messages = this.#messages.slice(removed);
    const notice: ConversationNotice = {
      type: 'dropped',
      turns: dropped,
      messages: removed,
      tokens: fullTokens - tokens,
      message: `dropped the oldest ${dropped === 1 ? 'turn' : `${dropped} turns`} (${fullTokens - tokens} tokens) to fit the context limit of ${this.contextLimit} tokens`,
    };
    options.onNotice?.(notice);
    return { tokens, notices: [notice] };
  }

  #chatMessages(messages: readonly MessageEntry[]): ChatMessage[] {
    const chat: ChatMessage[] = [];
    if (this.#system !== undefined) chat.push({ role: 'system', content: [{ type: 'text', text: this.#system }] });
    for (const m of messages) {
      const content: ContentPart[] = m.images.map((media) =>
        isVideoEntry(media) ? { type: 'video' as const, video: media.prepared } : { type: 'image' as const, image: media.prepared },
      );
      if (m.text !== '' || content.length === 0) content.push({ type: 'text', text: m.text });
      chat.push({ role: m.role, content });
    }
    return chat;
  }

  #countTokens(messages: readonly MessageEntry[], generationPrompt: boolean): number {
    const images = messages.flatMap((m) => m.images.flatMap((i) => (isVideoEntry(i) ? [] : [i.prepared])));
    return this.model.tokenize(this.#chatMessages(messages), images, generationPrompt).ids.length;
  }

  /** The sampling settings that are set (unset ones keep the sampler's defaults). */
  #sampling(): SamplingOptions {
    const { temperature, topK, topP, minP, repetitionPenalty, seed } = this.#settings;
    const sampling: SamplingOptions = { temperature, topK, topP, minP, repetitionPenalty, seed };
    for (const key of Object.keys(sampling) as Array<keyof SamplingOptions>) if (sampling[key] === undefined) delete sampling[key];
    return sampling;
  }

  #prepare(sources: readonly ImageArgument[], signal: AbortSignal | undefined): Promise<MediaEntry[]> {
    const known = [...this.#messages.flatMap((m) => m.images), ...this.#pending];
    return this.#images.prepare(sources, this.#settings, known, signal);
  }
}

/** What a turn that does not fit could do about its images and videos. */
function overflowHint(media: readonly MediaEntry[]): string {
  const videos = media.filter(isVideoEntry).length;
  if (videos > 0) return '; sample fewer video frames (max_frames, fps)' + (videos < media.length ? ' or use fewer or smaller images' : '');
  return media.length > 0 ? '; use fewer or smaller images' : '';
}

function publicMessage(entry: MessageEntry): ConversationMessage {
  // Images are the entries themselves (so that they can be passed back to ask()/attach()); bytes stay an implementation detail.
  return { role: entry.role, text: entry.text, images: [...entry.images], ...(entry.finishReason ? { finishReason: entry.finishReason } : {}) };
}

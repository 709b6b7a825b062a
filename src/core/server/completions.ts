/**
 * POST /v1/chat/completions: a checked request becomes a prompt (images read under the URL policy,
 * tokenized, checked against the context), gets the prompt cache its conversation extends, and is
 * answered by the engine as one JSON object or as Server-Sent Events.
 */
import type { GenerateRequest, GenerationResult } from '../generation/types.js';
import type { ImageOptions, PreparedImage } from '../generation/images.js';
import type { TextStream } from '../generation/stream.js';
import type { ImageSourceOptions } from '../image/source.js';
import type { SmolVLM } from '../model.js';
import { contentParts, type ChatMessage, type ContentPart } from '../prompt.js';
import type { GenerationSettings } from '../settings.js';
import type { PromptCachePool } from './cache-pool.js';
import type { GenerationEngine } from './engine.js';
import { ApiError, toApiError } from './errors.js';
import { parseJsonBody, readBody, sendJson, type RequestContext } from './http.js';
import type { ImageUrlPolicy } from './image-policy.js';
import { parseChatRequest, type ChatCompletionRequest } from './request.js';
import type { ResponseFormat } from './response-format.js';
import { chunkJson, completionJson, completionMeta, usageChunkJson, type CompletionMeta } from './shapes.js';
import { SseWriter } from './sse.js';
import { isSmolVLMError } from '../errors.js';
import { checkOutputFormat, type OutputFormat } from '../structured/index.js';

/** What a request does not set: the operator's generation settings and system message. */
export type ServerDefaults = GenerationSettings & { system?: string };

/** The limits on images read from URLs (the CLI's: timeout, size cap). */
export type ServerImageSource = Pick<ImageSourceOptions, 'timeoutMs' | 'maxBytes' | 'fetch'>;

export interface CompletionsOptions {
  readonly model: SmolVLM;
  readonly modelName: string;
  readonly engine: GenerationEngine;
  readonly pool: PromptCachePool;
  readonly policy: ImageUrlPolicy;
  readonly defaults: ServerDefaults;
  readonly imageSource: ServerImageSource;
  readonly maxBodyBytes: number;
  /** Takes a place among the admitted requests (or throws the 503) and returns what gives it back. */
  admit(): () => void;
}

/** A request's prompt: its messages with prepared images, tokenized. */
interface Prompt {
  messages: ChatMessage[];
  ids: number[];
  imageSpans: ReturnType<SmolVLM['tokenize']>['imageSpans'];
}

export class ChatCompletions {
  constructor(readonly options: CompletionsOptions) {}

  async handle(ctx: RequestContext): Promise<void> {
    const { options } = this;
    const request = parseChatRequest(parseJsonBody(await readBody(ctx.req, options.maxBodyBytes, ctx.signal)), options.policy);
    ctx.log.prompt = lastUserText(request.messages);
    // Structured output: the schema is checked before the request waits for a place (an unsupported keyword is a 400).
    const format = request.responseFormat ? checkResponseFormat(request.responseFormat.format) : undefined;
    const settings: ServerDefaults = { ...options.defaults, ...request.settings };
    this.#checkImageSize(settings.imageSize);
    const leave = options.admit();
    try {
      const prompt = await this.#prompt(request, settings, ctx.signal);
      ctx.log.promptTokens = prompt.ids.length;
      const cache = options.pool.acquire(prompt.ids, prompt.imageSpans);
      let stream: TextStream<GenerationResult> | undefined;
      try {
        stream = options.engine.generate({ ...generateOptions(settings), messages: prompt.messages, signal: ctx.signal, cache, ...(format ? { format } : {}) });
        await (request.stream ? this.#stream(ctx, stream, request.includeUsage) : this.#answer(ctx, stream));
      } finally {
        // The cache and the place are given back once the generation has really ended.
        await stream?.result.catch(() => undefined);
        options.pool.release(cache);
      }
    } finally {
      leave();
    }
  }

  /** image_size above the model's own longest edge is refused before any work. */
  #checkImageSize(imageSize: number | undefined): void {
    const limit = this.options.model.processorOptions.longestEdge;
    if (imageSize !== undefined && imageSize > limit) {
      throw new ApiError(400, `image_size must be at most ${limit} (this model's longest edge), got ${imageSize}`, 'image_size', 'invalid_value');
    }
  }

  /** Reads and tiles the images, renders and tokenizes, and checks that the prompt fits the context. */
  async #prompt(request: ChatCompletionRequest, settings: ServerDefaults, signal: AbortSignal): Promise<Prompt> {
    const { model, defaults } = this.options;
    const { messages, images } = await this.#prepareImages(request, settings, signal);
    if (defaults.system !== undefined && !messages.some((m) => m.role === 'system')) messages.unshift({ role: 'system', content: defaults.system });
    let tokenized;
    try {
      tokenized = model.tokenize(messages, images);
    } catch (error) {
      throw toApiError(error, 'messages');
    }
    const context = model.contextLength;
    if (tokenized.ids.length >= context) {
      const imageTokens = images.reduce((n, i) => n + i.tokens, 0);
      const forImages = images.length > 0 ? ` (${imageTokens} for ${images.length} image(s))` : '';
      throw new ApiError(400, `the prompt is ${tokenized.ids.length} tokens${forImages} but the model's context is ${context}`, 'messages', 'context_length_exceeded');
    }
    return { messages, ids: tokenized.ids, imageSpans: tokenized.imageSpans };
  }

  /** The messages with each image read, decoded and tiled, in prompt order; an image that cannot be read is a 400 naming its field. */
  async #prepareImages(request: ChatCompletionRequest, settings: ServerDefaults, signal: AbortSignal): Promise<{ messages: ChatMessage[]; images: PreparedImage[] }> {
    const imageOptions: ImageOptions = { doImageSplitting: settings.split, longestEdge: settings.imageSize };
    const source: ImageSourceOptions = { ...this.options.imageSource, signal };
    const images: PreparedImage[] = [];
    const prepare = async (part: ContentPart): Promise<ContentPart> => {
      if (part.type !== 'image') return part;
      const param = request.imageParams[images.length]!;
      try {
        const image = await this.options.model.prepareImage(part.image, imageOptions, source);
        images.push(image);
        return { type: 'image', image };
      } catch (error) {
        const apiError = toApiError(error, param);
        throw apiError.status === 400 ? new ApiError(400, `${param}: ${apiError.message}`, param, apiError.code) : error;
      }
    };
    const messages: ChatMessage[] = [];
    for (const message of request.messages) {
      if (typeof message.content === 'string') {
        messages.push(message);
        continue;
      }
      const content: ContentPart[] = [];
      for (const part of message.content) content.push(await prepare(part));
      messages.push({ role: message.role, content });
    }
    return { messages, images };
  }

  async #answer(ctx: RequestContext, stream: TextStream<GenerationResult>): Promise<void> {
    const result = await stream.result;
    logUsage(ctx, result);
    sendJson(ctx, 200, completionJson(completionMeta(this.options.modelName), result.text, result.finishReason, result.usage));
  }

  /**
   * Streams the answer. The status line waits for the first piece (or the end), so that a failure
   * before any text is still an ordinary error answer; a failure after it is an `error` event,
   * which the official clients raise.
   */
  async #stream(ctx: RequestContext, stream: TextStream<GenerationResult>, includeUsage: boolean): Promise<void> {
    const meta: CompletionMeta = completionMeta(this.options.modelName);
    const pieces = stream[Symbol.asyncIterator]();
    let next = await pieces.next();
    const sse = new SseWriter(ctx.res);
    sse.begin(ctx.headers);
    sse.send(chunkJson(meta, { role: 'assistant', content: '' }));
    try {
      for (; !next.done; next = await pieces.next()) sse.send(chunkJson(meta, { content: next.value }));
      const result = await stream.result;
      logUsage(ctx, result);
      sse.send(chunkJson(meta, {}, result.finishReason));
      if (includeUsage) sse.send(usageChunkJson(meta, result.usage));
    } catch (error) {
      const apiError = toApiError(error);
      ctx.log.error = apiError.message;
      sse.send(apiError.body());
    }
    sse.done();
  }
}

/** The request's settings as a GenerateRequest's options. */
function generateOptions(settings: ServerDefaults): Omit<GenerateRequest, 'messages'> {
  const { temperature, topK, topP, minP, repetitionPenalty, seed } = settings;
  return {
    maxNewTokens: settings.maxTokens,
    sampling: { temperature, topK, topP, minP, repetitionPenalty, seed },
    stop: settings.stop,
    image: { doImageSplitting: settings.split, longestEdge: settings.imageSize },
  };
}

function logUsage(ctx: RequestContext, result: GenerationResult): void {
  ctx.log.promptTokens = result.usage.promptTokens;
  ctx.log.cachedTokens = result.usage.cachedTokens;
  ctx.log.completionTokens = result.usage.completionTokens;
}

/** The text of the last user message (for the log, when the operator asks for prompts). */
function lastUserText(messages: readonly ChatMessage[]): string | undefined {
  const last = messages.findLast((m) => m.role === 'user');
  if (!last) return undefined;
  return contentParts(last).flatMap((p) => (p.type === 'text' ? [p.text] : [])).join(' ');
}

/** The request's response_format as the library's OutputFormat, or a 400 naming response_format. */
function checkResponseFormat(format: ResponseFormat['format']): OutputFormat {
  try {
    checkOutputFormat(format);
    // Checked: a schema object that passed checkOutputFormat is a JsonSchema.
    return format as OutputFormat;
  } catch (error) {
    if (isSmolVLMError(error)) throw new ApiError(400, error.message, 'response_format', 'invalid_schema');
    throw error;
  }
}

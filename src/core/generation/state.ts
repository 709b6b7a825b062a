/**
 * One generation request on its way through the model, as a state object with one method per step
 * (in the manner of node-llama-cpp's GenerateResponseState):
 *
 *   prepareImages → tokenize → encode → mergeFeatures → prefill → decode → finish
 *
 * (prepareImages prepares the videos too, and fits them to the context; encode decodes their frames.)
 *
 * Each step reads what the earlier ones left in the state, so a caller may stop after any step or
 * enter later (generateFromIds gives token ids and pixel values instead of the first two). The model
 * (sessions, tokenizer, features cache) is shared; what belongs to the request's one sequence (its KV
 * cache, sampler, stop strings and stream) lives in a DecodeSequence.
 */
import type { KvCache } from '../decoder.js';
import { SmolVLMError, throwIfCancelled } from '../errors.js';
import type { ImageSourceOptions } from '../image/source.js';
import type { ModelSpec } from '../model-files/spec.js';
import type { ChatMessage, ImageInput } from '../prompt.js';
import { readStructuredAnswer, type JsonConstraint, type StructuredAnswer, type StructuredOutput } from '../structured/index.js';
import type { TextTokenizer } from '../tokenizer.js';
import type { ImageFeatures } from './features.js';
import { decodeSequence, type DecodeLoop, type DecoderSessions } from './generate.js';
import type { ImageOptions, PreparedImage } from './images.js';
import { RequestMedia } from './media.js';
import type { ImageSpan } from './prompt-cache.js';
import { DecodeSequence } from './sequence.js';
import type { DecodeOptions, GenerationResult, Timings, TokenizedPrompt, Usage } from './types.js';
import type { VideoOptions, VideoPreparer } from './videos.js';

/** Most new tokens when a request does not say (never more than the context has room for). */
export const DEFAULT_MAX_NEW_TOKENS = 1024;

/** The loaded model as the pipeline uses it; shared by every request. */
export interface GenerationModel extends DecoderSessions {
  readonly tokenizer: TextTokenizer;
  readonly spec: ModelSpec;
  readonly features: ImageFeatures;
  readonly videos: VideoPreparer;
  readonly loadMs: number;
  /** Structured output for this model (the grammar engine is set up on first use). */
  structuredOutput(): StructuredOutput;
  prepareImage(input: ImageInput, options?: ImageOptions, source?: ImageSourceOptions): Promise<PreparedImage>;
  tokenize(messages: readonly ChatMessage[], images: readonly PreparedImage[]): TokenizedPrompt;
}

export class GenerateResponseState {
  readonly #model: GenerationModel;
  readonly #options: DecodeOptions;
  readonly #emit: (piece: string) => void;
  readonly #started = performance.now();
  #media: RequestMedia | undefined;
  #prompt: TokenizedPrompt | undefined;
  #maxNewTokens = 0;
  /** Prompt positions taken from the prompt cache (not prefilled again). */
  #reused = 0;
  #kv: KvCache | undefined;
  #newIds: number[] = [];
  #embeds: Float32Array | undefined;
  #newSpans: ImageSpan[] = [];
  #features: ReadonlyMap<string, Float32Array> = new Map();
  #promptLogits: Float32Array | undefined;
  #sequence: DecodeSequence | undefined;
  #structured: StructuredAnswer | undefined;
  /** Compiling the format and starting its constraint (counted in the time to the first token). */
  #formatMs = 0;
  #imageMs = 0;
  #encodeMs = 0;
  #prefillStarted = 0;
  #prefillMs = 0;

  constructor(model: GenerationModel, options: DecodeOptions, emit: (piece: string) => void) {
    this.#model = model;
    this.#options = options;
    this.#emit = emit;
  }

  /** Steps 3 to 7 on a tokenized prompt. */
  async run(): Promise<GenerationResult> {
    await this.encode();
    this.mergeFeatures();
    await this.prefill();
    await this.decode();
    return this.finish();
  }

  /**
   * Step 1: reads, decodes and tiles the messages' images, and probes and samples their videos, in
   * prompt order; a video whose prompt would not fit the context is refused (or, with `video.fit`,
   * sampled down) before any frame is decoded.
   */
  async prepareImages(messages: readonly ChatMessage[], options?: ImageOptions, source?: ImageSourceOptions, video?: VideoOptions): Promise<void> {
    const { signal, maxNewTokens } = this.#options;
    const media = (this.#media = new RequestMedia(this.#model, video));
    await media.prepare(messages, options, { ...source, signal });
    if (media.videos.length > 0) media.fit(messages, this.#model.spec.contextLength, maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS);
    this.#imageMs = performance.now() - this.#started;
  }

  /** Step 2: renders the chat template and tokenizes it, each image and video expanded to its tokens. */
  tokenize(messages: readonly ChatMessage[]): void {
    const media = this.#media;
    this.#prompt = this.#model.tokenize(media ? media.messages(messages) : messages, media?.images ?? []);
  }

  /** Instead of steps 1 and 2: a prompt given as token ids (and prepared images). */
  usePrompt(prompt: TokenizedPrompt): void {
    this.#prompt = prompt;
  }

  /**
   * Step 3: checks that the prompt fits the context, takes what the prompt cache already holds, embeds
   * the new tokens and runs the vision encoder on the images among them (or takes their cached features).
   */
  async encode(): Promise<void> {
    const { ids, images, imageSpans } = need(this.#prompt, 'tokenize');
    const context = this.#model.spec.contextLength;
    if (ids.length >= context) {
      const imageTokens = images.reduce((n, i) => n + i.tokens, 0);
      throw new SmolVLMError(
        'CONTEXT_OVERFLOW',
        `the prompt is ${ids.length} tokens (${imageTokens} for ${images.length} image(s)) but the model's context is ${context}` +
          (images.length > 0 ? '; use fewer images, no splitting, or a smaller image size' : ''),
      );
    }
    this.#maxNewTokens = Math.min(this.#options.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS, context - ids.length);
    throwIfCancelled(this.#options.signal, 'generation');
    this.#reuseCache(ids, imageSpans);
    this.#newIds = ids.slice(this.#reused);
    this.#embeds = await this.#model.embedder.embed(this.#newIds);
    const started = performance.now();
    this.#newSpans = imageSpans.filter((span) => span.start >= this.#reused);
    const newKeys = new Set(this.#newSpans.map((span) => span.key));
    const features = await this.#model.features.encode(images.filter((image) => newKeys.has(image.key)));
    await this.#media?.encodeFrames(newKeys, features, this.#options.signal);
    this.#features = features;
    this.#encodeMs = performance.now() - started;
  }

  /** Step 4: writes the image features into the new tokens' embeddings at the image-token positions. */
  mergeFeatures(): void {
    const started = performance.now();
    const { ids } = need(this.#prompt, 'tokenize');
    const embeds = need(this.#embeds, 'encode');
    this.#model.features.merge(embeds, ids, this.#model.spec.imageTokenId, this.#newSpans, this.#features, this.#reused);
    this.#encodeMs += performance.now() - started;
  }

  /** Step 5: runs the decoder over the new tokens; the KV cache then holds the whole prompt. */
  async prefill(): Promise<void> {
    const embeds = need(this.#embeds, 'encode');
    throwIfCancelled(this.#options.signal, 'generation');
    this.#prefillStarted = performance.now();
    this.#promptLogits = await this.#model.decoder.forward(embeds, this.#newIds.length, need(this.#kv, 'encode'));
    this.#prefillMs = performance.now() - this.#prefillStarted;
  }

  /**
   * Step 6: samples and streams the answer token by token until it ends: by itself, or through `loop`
   * (BatchScheduler's, which decodes it together with other requests' sequences).
   */
  async decode(loop: DecodeLoop = (sequence, logits) => decodeSequence(this.#model, sequence, logits)): Promise<void> {
    const { sampling, stop, signal, onToken } = this.#options;
    const { tokenizer, spec } = this.#model;
    const promptLogits = need(this.#promptLogits, 'prefill');
    const constraint = await this.#constraint();
    this.#sequence = new DecodeSequence({
      prompt: need(this.#prompt, 'tokenize').ids,
      kv: need(this.#kv, 'encode'),
      tokenizer,
      maxNewTokens: this.#maxNewTokens,
      contextLength: spec.contextLength,
      eosTokenIds: spec.eosTokenIds,
      emit: this.#emit,
      ...(stop ? { stop } : {}),
      ...(sampling ? { sampling } : {}),
      ...(signal ? { signal } : {}),
      ...(onToken ? { onToken } : {}),
      ...(constraint ? { constraint } : {}),
    });
    try {
      await loop(this.#sequence, promptLogits);
      await this.#sequence.settled();
      if (constraint) this.#structured = readStructuredAnswer(this.#sequence.text, constraint.canEnd());
    } finally {
      constraint?.dispose();
    }
  }

  /** The request's format as a constraint, or undefined without one. */
  async #constraint(): Promise<JsonConstraint | undefined> {
    const { format } = this.#options;
    if (format === undefined) return undefined;
    const started = performance.now();
    const constraint = await this.#model.structuredOutput().constraint(format);
    this.#formatMs = performance.now() - started;
    return constraint;
  }

  /** Step 7: keeps the conversation's state in the prompt cache and reports usage and timings. */
  finish(): GenerationResult {
    const { ids, imageSpans } = need(this.#prompt, 'tokenize');
    const sequence = need(this.#sequence, 'decode');
    const cache = this.#options.cache;
    if (cache) {
      cache.ids = [...ids, ...sequence.ids].slice(0, sequence.kv.length);
      cache.imageSpans = imageSpans;
      cache.kv = sequence.kv;
    }
    const finishReason = need(sequence.finishReason, 'decode');
    const structured = this.#structured ? { structured: this.#structured } : {};
    return { text: sequence.text, ids: sequence.ids, finishReason, ...structured, usage: this.#usage(sequence), timings: this.#timings(sequence) };
  }

  /** Removes the temporary copies of videos the request read from stdin or downloads. */
  async dispose(): Promise<void> {
    await this.#media?.dispose();
  }

  /** Takes the prompt cache's KV for the prefix it shares with `ids`; the cache is cleared until finish. */
  #reuseCache(ids: readonly number[], spans: readonly ImageSpan[]): void {
    const { cache } = this.#options;
    const { decoder } = this.#model;
    let reused = cache ? Math.min(cache.reusablePrefix(ids, spans), ids.length - 1) : 0;
    let kv = cache?.kv && reused > 0 ? decoder.truncate(cache.kv, reused) : decoder.emptyCache();
    if (kv.length !== reused) {
      reused = 0;
      kv = decoder.emptyCache();
    }
    // Until this request completes, the old state is no longer valid.
    cache?.clear();
    this.#reused = reused;
    this.#kv = kv;
  }

  #usage(sequence: DecodeSequence): Usage {
    const { ids, images, videos } = need(this.#prompt, 'tokenize');
    return {
      promptTokens: ids.length,
      cachedTokens: this.#reused,
      imageTokens: images.reduce((n, i) => n + i.tokens, 0),
      images: images.map((i) => ({ label: i.label, rows: i.rows, cols: i.cols, tiles: i.tileCount, tokens: i.tokens })),
      videos: this.#media?.usage(videos ?? []) ?? [],
      completionTokens: sequence.ids.length,
    };
  }

  #timings(sequence: DecodeSequence): Timings {
    const prefillMs = this.#prefillMs;
    const decodeTokens = Math.max(0, sequence.ids.length - 1);
    return {
      loadMs: this.#model.loadMs,
      imageMs: this.#imageMs,
      encodeMs: this.#encodeMs,
      prefillMs,
      prefillTokensPerSecond: prefillMs > 0 ? (this.#newIds.length / prefillMs) * 1000 : 0,
      firstTokenMs: this.#prefillStarted - this.#started + prefillMs + this.#formatMs + sequence.firstTokenMs,
      decodeMs: sequence.decodeMs,
      decodeTokensPerSecond: sequence.decodeMs > 0 ? (decodeTokens / sequence.decodeMs) * 1000 : 0,
      totalMs: performance.now() - this.#started,
    };
  }
}

/** A value an earlier step leaves in the state. */
function need<T>(value: T | undefined, step: string): T {
  if (value === undefined) throw new Error(`generation step ${step}() has not run yet`);
  return value;
}

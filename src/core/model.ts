import { createHash } from 'node:crypto';
import { Decoder } from './decoder.js';
import { chooseDefaultDtypes } from './default-dtype.js';
import { TokenEmbedder, VisionEncoder } from './encoders.js';
import { SmolVLMError } from './errors.js';
import { decodeLoop, type FinishReason } from './generate.js';
import { decodeImage, imageProcessorOptionsFromConfig, preprocessImage, type ImageProcessorOptions } from './image/index.js';
import { readImageSource, type ImageSourceOptions } from './image/source.js';
import { detectInt8Kernels } from './int8-kernels.js';
import { readModelSpec, type ModelSpec } from './model-config.js';
import { availableDtypes, readModelDirectory, SESSION_NAMES, type Dtype, type DtypeSpec, type ModelDirectory, type SessionDtypes } from './model-dir.js';
import { PromptCache, type ImageSpan } from './prompt-cache.js';
import { ChatTemplate, expandImagePlaceholders, imagePromptString, messageImages, type ChatMessage, type ImageInput } from './prompt.js';
import type { RuntimeOptions } from './runtime.js';
import type { SamplingOptions } from './sampling.js';
import { TextStream } from './stream.js';
import { TextTokenizer } from './tokenizer.js';


export interface LoadOptions extends RuntimeOptions {
  /** One dtype for all sessions or one per session; default: chooseDefaultDtypes for this CPU (uint8 over int8 where int8 kernels saturate). */
  dtype?: DtypeSpec;
  /**
   * Image tiles per vision encoder call (default DEFAULT_VISION_TILES_PER_CALL): bounds the encoder's
   * memory. 0 encodes all new images of a request in one call, as the reference implementations do;
   * int8/uint8 encoders quantize activations per call, so only 0 reproduces their features bit for bit
   * (fp32, fp16 and q4 give the same features either way). See the README's Performance section.
   */
  visionTilesPerCall?: number;
}

/** Tiles per vision encoder call unless LoadOptions.visionTilesPerCall says otherwise (README: Performance). */
export const DEFAULT_VISION_TILES_PER_CALL = 1;

export interface ImageOptions {
  /** Split images into tiles plus a global view (default: the model's preprocessor_config). */
  doImageSplitting?: boolean;
  /** Resize the longest edge to this before tiling: at most, and by default, the model's `size.longest_edge`. */
  longestEdge?: number;
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels?: number;
}

/** An image decoded, resized and tiled for this model; reusable across requests. */
export interface PreparedImage {
  readonly prepared: true;
  label: string;
  rows: number;
  cols: number;
  tileCount: number;
  tileSize: number;
  /** `[tileCount, 3, tileSize, tileSize]` float32, normalised. */
  pixelValues: Float32Array;
  sizes: { decoded: [number, number]; resized: [number, number]; resizedForTiles: [number, number] };
  /** Identifies the image bytes and the tiling options (the features cache key). */
  key: string;
  /** Prompt tokens this image adds. */
  tokens: number;
}

export interface GenerateRequest {
  messages: ChatMessage[];
  /** Default 1024; never more than the context has room for. */
  maxNewTokens?: number;
  sampling?: SamplingOptions;
  /** Stop when the text contains one of these (the stop string is not part of the answer). */
  stop?: string[];
  image?: ImageOptions;
  /** Where image paths, URLs and `-` are read from. */
  imageSource?: ImageSourceOptions;
  signal?: AbortSignal;
  /** Conversation state: a follow-up request that extends the cached prompt prefills only what it adds. */
  cache?: PromptCache;
  /** Called with each generated id (after sampling). */
  onToken?: (id: number) => void;
}

export interface ImageUsage {
  label: string;
  rows: number;
  cols: number;
  tiles: number;
  tokens: number;
}

export interface Usage {
  promptTokens: number;
  /** Prompt tokens that came from the cache and were not prefilled again. */
  cachedTokens: number;
  imageTokens: number;
  images: ImageUsage[];
  completionTokens: number;
}

export interface Timings {
  /** Loading the model (once per model). */
  loadMs: number;
  /** Reading, decoding and tiling images. */
  imageMs: number;
  /** Vision encoder. */
  encodeMs: number;
  prefillMs: number;
  prefillTokensPerSecond: number;
  /** From the request to the first generated token. */
  firstTokenMs: number;
  decodeMs: number;
  decodeTokensPerSecond: number;
  totalMs: number;
}

export interface GenerationResult {
  text: string;
  ids: number[];
  finishReason: FinishReason;
  usage: Usage;
  timings: Timings;
}

export interface TokenizedPrompt {
  prompt: string;
  ids: number[];
  images: PreparedImage[];
  imageSpans: ImageSpan[];
}

const FEATURE_CACHE_ENTRIES = 16;
/** Prepared images kept for a follow-up turn about the same image (up to ~54 MB each on 256M). */
const PREPARED_CACHE_ENTRIES = 2;

/** A loaded SmolVLM: tokenizer, chat template, image processor and the three ONNX sessions. */
export class SmolVLM {
  readonly tokenizer: TextTokenizer;
  readonly template: ChatTemplate;
  readonly spec: ModelSpec;
  readonly processorOptions: ImageProcessorOptions;
  readonly #features = new Map<string, Float32Array>();
  /** The last prepared images (pixel values included), by bytes, tiling options and pixel limit. */
  readonly #prepared = new Map<string, PreparedImage>();
  #visionTilesPerCall = DEFAULT_VISION_TILES_PER_CALL;

  private constructor(
    readonly directory: ModelDirectory,
    readonly vision: VisionEncoder,
    readonly embedder: TokenEmbedder,
    readonly decoder: Decoder,
    readonly loadMs: number,
  ) {
    this.tokenizer = new TextTokenizer(directory.tokenizerJson, directory.tokenizerConfig);
    this.template = new ChatTemplate(directory.chatTemplate);
    this.spec = readModelSpec(directory);
    this.processorOptions = imageProcessorOptionsFromConfig(directory.preprocessorConfig);
    if (embedder.hiddenSize !== decoder.hiddenSize) {
      throw new SmolVLMError('MODEL_INVALID', `embed_tokens (${embedder.hiddenSize}) and decoder (${decoder.hiddenSize}) hidden sizes differ in ${directory.dir}`);
    }
  }

  /** Loads a model directory in the official layout. */
  static async load(dir: string, options: LoadOptions = {}): Promise<SmolVLM> {
    const started = performance.now();
    const directory = readModelDirectory(dir, options.dtype ?? (await defaultDtypes(dir)));
    const [vision, embedder, decoder] = await Promise.all([
      VisionEncoder.load(directory.onnxPaths.vision_encoder, options),
      TokenEmbedder.load(directory.onnxPaths.embed_tokens, options),
      Decoder.load(directory.onnxPaths.decoder_model_merged, options),
    ]);
    const model = new SmolVLM(directory, vision, embedder, decoder, performance.now() - started);
    const perCall = options.visionTilesPerCall ?? DEFAULT_VISION_TILES_PER_CALL;
    if (!Number.isInteger(perCall) || perCall < 0) throw new SmolVLMError('USAGE', `visionTilesPerCall must be an integer >= 0, got ${perCall}`);
    model.#visionTilesPerCall = perCall;
    return model;
  }

  get dtypes(): SessionDtypes {
    return this.directory.dtypes;
  }

  get contextLength(): number {
    return this.spec.contextLength;
  }

  /** Reads, decodes and tiles one image; the result can be passed in messages instead of the source. */
  async prepareImage(input: ImageInput, options: ImageOptions = {}, source: ImageSourceOptions = {}): Promise<PreparedImage> {
    if (isPreparedImage(input)) return input;
    const { bytes, label } = await readImageSource(input as string | Uint8Array, source);
    const processorOptions = this.#processorOptions(options);
    const hash = createHash('sha256').update(bytes).digest('hex');
    const key = `${hash}:${processorOptions.longestEdge}:${processorOptions.doImageSplitting ? 'split' : 'whole'}`;
    // The same image again (a follow-up turn names it again): skip decoding and resizing.
    const cacheKey = `${key}:${options.maxPixels ?? ''}`;
    const cached = this.#prepared.get(cacheKey);
    if (cached) {
      this.#prepared.delete(cacheKey);
      this.#prepared.set(cacheKey, cached);
      return { ...cached, label };
    }
    const raw = await decodeImage(bytes, { label, maxPixels: options.maxPixels });
    const processed = preprocessImage(raw, processorOptions);
    const grid = { rows: processed.rows, cols: processed.cols };
    const prepared: PreparedImage = {
      prepared: true,
      label,
      rows: processed.rows,
      cols: processed.cols,
      tileCount: processed.tileCount,
      tileSize: processed.tileSize,
      pixelValues: processed.pixelValues,
      sizes: processed.sizes,
      key,
      tokens: this.tokenizer.encode(imagePromptString(grid, this.spec.imageSeqLen)).length,
    };
    this.#prepared.set(cacheKey, prepared);
    while (this.#prepared.size > PREPARED_CACHE_ENTRIES) this.#prepared.delete(this.#prepared.keys().next().value!);
    return prepared;
  }

  /** Renders, expands and tokenizes a conversation (images must already be prepared, in order). */
  tokenize(messages: readonly ChatMessage[], images: readonly PreparedImage[], addGenerationPrompt = true): TokenizedPrompt {
    const prompt = this.template.render(messages, addGenerationPrompt);
    const expanded = expandImagePlaceholders(prompt, images, this.spec.imageSeqLen);
    const ids = this.tokenizer.encode(expanded);
    return { prompt, ids, images: [...images], imageSpans: this.#imageSpans(ids, images) };
  }

  /** Streams an answer to a conversation. Iterate the stream for text pieces; `result` has usage and timings. */
  generate(request: GenerateRequest): TextStream<GenerationResult> {
    return new TextStream((emit) => this.#generate(request, emit));
  }

  /**
   * The generation core on given token ids and pixel values (no template, no image files): for
   * conformance checks and callers that build prompts themselves.
   */
  generateFromIds(
    ids: readonly number[],
    pixelValues: Float32Array | undefined,
    tileCount: number,
    options: Omit<GenerateRequest, 'messages' | 'image' | 'imageSource'> = {},
  ): TextStream<GenerationResult> {
    return new TextStream(async (emit) => {
      const started = performance.now();
      const image: PreparedImage[] =
        pixelValues && tileCount > 0
          ? [
              {
                prepared: true,
                label: 'pixel values',
                rows: 0,
                cols: 0,
                tileCount,
                tileSize: Math.round(Math.sqrt(pixelValues.length / tileCount / 3)),
                pixelValues,
                sizes: { decoded: [0, 0], resized: [0, 0], resizedForTiles: [0, 0] },
                key: `raw:${createHash('sha256').update(new Uint8Array(pixelValues.buffer, pixelValues.byteOffset, pixelValues.byteLength)).digest('hex')}`,
                tokens: 0,
              },
            ]
          : [];
      const tokenized: TokenizedPrompt = { prompt: '', ids: [...ids], images: image, imageSpans: this.#imageSpans(ids, image) };
      return this.#run(tokenized, { ...options, messages: [] }, emit, started, 0);
    });
  }

  async #generate(request: GenerateRequest, emit: (piece: string) => void): Promise<GenerationResult> {
    const started = performance.now();
    const images: PreparedImage[] = [];
    for (const input of messageImages(request.messages)) {
      throwIfAborted(request.signal);
      images.push(await this.prepareImage(input, request.image, { ...request.imageSource, signal: request.signal }));
    }
    const imageMs = performance.now() - started;
    return this.#run(this.tokenize(request.messages, images), request, emit, started, imageMs);
  }

  async #run(prompt: TokenizedPrompt, request: GenerateRequest, emit: (piece: string) => void, started: number, imageMs: number): Promise<GenerationResult> {
    const { ids, images, imageSpans } = prompt;
    const context = this.spec.contextLength;
    if (ids.length >= context) {
      const imageTokens = images.reduce((n, i) => n + i.tokens, 0);
      throw new SmolVLMError(
        'CONTEXT_OVERFLOW',
        `the prompt is ${ids.length} tokens (${imageTokens} for ${images.length} image(s)) but the model's context is ${context}` +
          (images.length > 0 ? '; use fewer images, no splitting, or a smaller image size' : ''),
      );
    }
    const maxNewTokens = Math.min(request.maxNewTokens ?? 1024, context - ids.length);
    throwIfAborted(request.signal);

    const cache = request.cache;
    let reused = cache ? Math.min(cache.reusablePrefix(ids, imageSpans), ids.length - 1) : 0;
    const kv = cache?.kv && reused > 0 ? this.decoder.truncate(cache.kv, reused) : this.decoder.emptyCache();
    if (kv.length !== reused) reused = 0;
    if (cache) cache.clear(); // until this request completes, the old state is no longer valid

    const newIds = ids.slice(reused);
    const embeds = await this.embedder.embed(newIds);
    const encodeStarted = performance.now();
    await this.#mergeImageFeatures(embeds, ids, imageSpans.filter((s) => s.start >= reused), images, imageSpans, reused);
    const encodeMs = performance.now() - encodeStarted;
    throwIfAborted(request.signal);

    const prefillStarted = performance.now();
    const firstLogits = await this.decoder.forward(embeds, newIds.length, kv);
    const prefillMs = performance.now() - prefillStarted;

    const loop = await decodeLoop({
      decoder: this.decoder,
      embedder: this.embedder,
      tokenizer: this.tokenizer,
      firstLogits,
      cache: kv,
      history: ids,
      maxNewTokens,
      contextLength: context,
      eosTokenIds: this.spec.eosTokenIds,
      stop: request.stop,
      sampling: request.sampling,
      signal: request.signal,
      emit,
      onToken: request.onToken,
    });
    if (cache) {
      cache.ids = [...ids, ...loop.ids].slice(0, kv.length);
      cache.imageSpans = imageSpans;
      cache.kv = kv;
    }
    const firstTokenMs = prefillStarted - started + prefillMs + loop.firstTokenMs;
    const decodeTokens = Math.max(0, loop.ids.length - 1);
    return {
      text: loop.text,
      ids: loop.ids,
      finishReason: loop.finishReason,
      usage: {
        promptTokens: ids.length,
        cachedTokens: reused,
        imageTokens: images.reduce((n, i) => n + i.tokens, 0),
        images: images.map((i) => ({ label: i.label, rows: i.rows, cols: i.cols, tiles: i.tileCount, tokens: i.tokens })),
        completionTokens: loop.ids.length,
      },
      timings: {
        loadMs: this.loadMs,
        imageMs,
        encodeMs,
        prefillMs,
        prefillTokensPerSecond: prefillMs > 0 ? (newIds.length / prefillMs) * 1000 : 0,
        firstTokenMs,
        decodeMs: loop.decodeMs,
        decodeTokensPerSecond: loop.decodeMs > 0 ? (decodeTokens / loop.decodeMs) * 1000 : 0,
        totalMs: performance.now() - started,
      },
    };
  }

  /**
   * Writes image features into the embeddings at the image-token positions of `spans` (positions are
   * absolute; `offset` is where `embeds` starts). Images not in the features cache are encoded one by one
   * in calls of `visionTilesPerCall` tiles, or with 0 all together in one call (LoadOptions).
   */
  async #mergeImageFeatures(
    embeds: Float32Array,
    ids: readonly number[],
    spans: ImageSpan[],
    images: PreparedImage[],
    allSpans: ImageSpan[],
    offset: number,
  ): Promise<void> {
    if (spans.length === 0) return;
    const hidden = this.decoder.hiddenSize;
    const imageOf = (span: ImageSpan) => images[allSpans.indexOf(span)]!;
    const missing = [...new Set(spans.map(imageOf).filter((i) => !this.#features.has(i.key)))];
    if (missing.length > 0 && this.#visionTilesPerCall > 0) {
      // Image by image, so that an image's features never depend on which other images came along.
      for (const image of missing) {
        const features = await this.vision.encode(image.pixelValues, image.tileCount, image.tileSize, this.#visionTilesPerCall);
        const expected = image.tileCount * this.spec.imageSeqLen * hidden;
        if (features.length !== expected) {
          throw new SmolVLMError('MODEL_INVALID', `the vision encoder returned ${features.length / hidden} image tokens, expected ${expected / hidden}`);
        }
        this.#rememberFeatures(image.key, features);
      }
    } else if (missing.length > 0) {
      const tiles = missing.reduce((n, i) => n + i.tileCount, 0);
      const tileSize = missing[0]!.tileSize;
      const pixels = missing.length === 1 ? missing[0]!.pixelValues : concatFloat32(missing.map((i) => i.pixelValues));
      const features = await this.vision.encode(pixels, tiles, tileSize);
      let at = 0;
      for (const image of missing) {
        const length = image.tileCount * this.spec.imageSeqLen * hidden;
        this.#rememberFeatures(image.key, features.subarray(at, at + length));
        at += length;
      }
      if (at !== features.length) {
        throw new SmolVLMError('MODEL_INVALID', `the vision encoder returned ${features.length / hidden} image tokens, expected ${at / hidden}`);
      }
    }
    for (const span of spans) {
      const features = this.#features.get(imageOf(span).key)!;
      let row = 0;
      for (let position = span.start; position < span.end; position++) {
        if (ids[position] !== this.spec.imageTokenId) continue;
        embeds.set(features.subarray(row * hidden, (row + 1) * hidden), (position - offset) * hidden);
        row++;
      }
    }
  }

  #rememberFeatures(key: string, features: Float32Array): void {
    this.#features.delete(key);
    this.#features.set(key, features);
    while (this.#features.size > FEATURE_CACHE_ENTRIES) this.#features.delete(this.#features.keys().next().value!);
  }

  /** Image-token runs of `ids`, one per image, checked against the images' tile counts. */
  #imageSpans(ids: readonly number[], images: readonly PreparedImage[]): ImageSpan[] {
    const perTile = this.spec.imageSeqLen;
    const positions: number[] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i] === this.spec.imageTokenId) positions.push(i);
    const expected = images.reduce((n, i) => n + i.tileCount * perTile, 0);
    if (positions.length !== expected) {
      throw new SmolVLMError('PROMPT_INVALID', `the prompt has ${positions.length} image tokens but the images need ${expected}`);
    }
    const spans: ImageSpan[] = [];
    let next = 0;
    for (const image of images) {
      const count = image.tileCount * perTile;
      const start = positions[next]!;
      const end = positions[next + count - 1]! + 1;
      spans.push({ start, end, key: image.key });
      next += count;
    }
    return spans;
  }

  #processorOptions(options: ImageOptions): ImageProcessorOptions {
    const modelEdge = this.processorOptions.longestEdge;
    const longestEdge = options.longestEdge ?? modelEdge;
    // Larger sizes would need row/column markers the model never saw (its grid tops out at longest_edge / tile).
    if (!Number.isInteger(longestEdge) || longestEdge < 1 || longestEdge > modelEdge) {
      throw new SmolVLMError('USAGE', `image size must be an integer from 1 to ${modelEdge} (this model's longest edge), got ${longestEdge}`);
    }
    return { ...this.processorOptions, longestEdge, doImageSplitting: options.doImageSplitting ?? this.processorOptions.doImageSplitting };
  }
}

/** Per session, this CPU's default among the dtypes whose files exist in `dir` (default-dtype.ts). */
async function defaultDtypes(dir: string): Promise<DtypeSpec> {
  const available = Object.fromEntries(SESSION_NAMES.map((s) => [s, availableDtypes(dir, s)]));
  return chooseDefaultDtypes(available, (await detectInt8Kernels()).saturates).dtypes;
}

export function isPreparedImage(input: unknown): input is PreparedImage {
  return typeof input === 'object' && input !== null && (input as PreparedImage).prepared === true;
}

function concatFloat32(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SmolVLMError('ABORTED', 'generation was cancelled');
}

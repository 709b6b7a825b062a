/**
 * SmolVLM, the library's entry point: load a model directory, prepare images, tokenize, generate.
 * The work happens in generation/ (the request pipeline, sampling, the decode loop, caches).
 */
import { Decoder } from './decoder.js';
import { machineDtypePreference } from './default-dtype.js';
import { TokenEmbedder } from './encoders.js';
import { SmolVLMError } from './errors.js';
import { DEFAULT_VISION_TILES_PER_CALL, ImageFeatures } from './generation/features.js';
import { ImagePreparer, preparedFromPixels, type ImageOptions, type PreparedImage } from './generation/images.js';
import { findImageSpans } from './generation/prompt-cache.js';
import { checkGenerateRequest, checkIdsRequest } from './generation/request.js';
import { GenerateResponseState, type GenerationModel } from './generation/state.js';
import { TextStream } from './generation/stream.js';
import type { DecodeOptions, GenerateRequest, GenerationResult, TokenizedPrompt } from './generation/types.js';
import { mediaBlocks, messageVideos } from './generation/media.js';
import { VideoPreparer, type PreparedVideo, type VideoOptions } from './generation/videos.js';
import { repoFromFolderName } from './hub/cache-layout.js';
import { imageProcessorOptionsFromConfig, type ImageProcessorOptions, type ProcessedImage } from './image/index.js';
import type { ImageSourceOptions } from './image/source.js';
import { hasMedia, LazyVisionEncoder } from './lazy-vision.js';
import { checkLoadArguments, type LoadOptions } from './load-options.js';
import { isJsonObject, preferredDtypes, readModelDirectory, type ModelDirectory } from './model-files/directory.js';
import type { SessionDtypes } from './model-files/dtypes.js';
import { readModelSpec, type ModelSpec } from './model-files/spec.js';
import { type ChatMessage, ChatTemplate, expandImagePlaceholders, type ImageInput, imagePromptString } from './prompt.js';
import { usableOptimizedGraphCacheDir } from './optimized-graph-cache.js';
import { intraOpThreads } from './runtime.js';
import { StructuredOutput } from './structured/index.js';
import { TextTokenizer } from './tokenizer.js';
import { expandVideoPlaceholders, type VideoProcessorOptions } from './video/index.js';
import { readMediaSource, type VideoFile } from './video/source.js';

export { DEFAULT_VISION_TILES_PER_CALL } from './generation/features.js';
export { isPreparedImage, type ImageOptions, type PreparedImage } from './generation/images.js';
export type { FinishReason, GenerateRequest, GenerationResult, ImageUsage, Timings, TokenizedPrompt, Usage, VideoUsage } from './generation/types.js';
export { isPreparedVideo, VIDEO_RESIZE_MODES, type PreparedVideo, type VideoOptions, type VideoProgress, type VideoResize } from './generation/videos.js';
export type { LoadOptions } from './load-options.js';

/**
 * A loaded SmolVLM: tokenizer, chat template, image processor and the three ONNX sessions (the vision
 * encoder's made when the first image needs it).
 */
export class SmolVLM {
  readonly tokenizer: TextTokenizer;
  readonly template: ChatTemplate;
  readonly spec: ModelSpec;
  readonly processorOptions: ImageProcessorOptions;
  readonly #images: ImagePreparer;
  readonly #videos: VideoPreparer;
  /** What every request shares: the sessions, the tokenizer, the features cache. */
  readonly #model: GenerationModel;
  #structured: StructuredOutput | undefined;

  private constructor(
    readonly directory: ModelDirectory,
    /** The vision encoder; its session is created by the first request with an image (or `vision.ready()`). */
    readonly vision: LazyVisionEncoder,
    readonly embedder: TokenEmbedder,
    readonly decoder: Decoder,
    readonly loadMs: number,
    options: LoadOptions,
  ) {
    this.tokenizer = new TextTokenizer(directory.tokenizerJson, directory.tokenizerConfig);
    this.template = new ChatTemplate(directory.chatTemplate);
    this.spec = readModelSpec(directory);
    this.processorOptions = imageProcessorOptionsFromConfig(directory.preprocessorConfig);
    if (embedder.hiddenSize !== decoder.hiddenSize) {
      throw new SmolVLMError('MODEL_INVALID', `embed_tokens (${embedder.hiddenSize}) and decoder (${decoder.hiddenSize}) hidden sizes differ in ${directory.dir}`);
    }
    this.#images = new ImagePreparer(this.processorOptions, this.tokenizer, this.spec.imageSeqLen);
    const features = new ImageFeatures(vision, decoder.hiddenSize, this.spec.imageSeqLen, options.visionTilesPerCall ?? DEFAULT_VISION_TILES_PER_CALL);
    this.#videos = new VideoPreparer(directory.preprocessorConfig, options.videoResize ?? 'model', this.tokenizer, this.spec.imageSeqLen, modelName(directory.dir));
    this.#model = {
      tokenizer: this.tokenizer,
      spec: this.spec,
      embedder,
      decoder,
      features,
      videos: this.#videos,
      loadMs,
      structuredOutput: () => this.structuredOutput(),
      prepareImage: (input, options, source) => this.prepareImage(input, options, source),
      tokenize: (messages, images) => this.tokenize(messages, images),
    };
  }

  /** Loads a model directory in the official layout. Bad arguments are USAGE errors. */
  static async load(dir: string, options: LoadOptions = {}): Promise<SmolVLM> {
    checkLoadArguments(dir, options);
    const started = performance.now();
    const runtime = {
      ...options,
      threads: intraOpThreads(options.threads, options.onWarning),
      cacheDir: usableOptimizedGraphCacheDir(options.cacheDir, options.onWarning),
    };
    const directory = readModelDirectory(dir, options.dtype ?? preferredDtypes(dir, await machineDtypePreference()));
    const [embedder, decoder] = await Promise.all([TokenEmbedder.load(directory.onnxPaths.embed_tokens, runtime), Decoder.load(directory.onnxPaths.decoder_model_merged, runtime)]);
    const warmUp = options.warmUp ?? true;
    if (warmUp) await decoder.warmUp();
    const vision = new LazyVisionEncoder(directory.onnxPaths.vision_encoder, runtime);
    const model = new SmolVLM(directory, vision, embedder, decoder, performance.now() - started, options);
    if (warmUp) model.#warmUpText();
    return model;
  }

  /**
   * The JavaScript half of the warm-up: the first template render and tokenization compile their code
   * paths (about 5 ms at the first request otherwise). A warm-up never fails a load: a template that
   * cannot render this message is reported by the request that needs it.
   */
  #warmUpText(): void {
    try {
      this.tokenize([{ role: 'user', content: 'Hello' }], []);
    } catch {
      // see above
    }
  }

  get dtypes(): SessionDtypes {
    return this.directory.dtypes;
  }

  get contextLength(): number {
    return this.spec.contextLength;
  }

  /**
   * Structured output for this model (requests with a `format` use it): made on first use from
   * tokenizer.json, text_config.vocab_size and the end-of-sequence ids; it keeps compiled grammars.
   */
  structuredOutput(): StructuredOutput {
    if (this.#structured) return this.#structured;
    const textConfig = this.directory.config['text_config'];
    const vocabSize = isJsonObject(textConfig) ? textConfig['vocab_size'] : undefined;
    if (typeof vocabSize !== 'number' || !Number.isSafeInteger(vocabSize) || vocabSize < 1) {
      throw new SmolVLMError('MODEL_INVALID', `config.json in ${this.directory.dir} has no text_config.vocab_size (structured output needs it)`);
    }
    this.#structured = new StructuredOutput({ tokenizerJson: this.directory.tokenizerJson, vocabSize, eosTokenIds: this.spec.eosTokenIds });
    return this.#structured;
  }

  /** Reads, decodes and tiles one image; the result can be passed in messages instead of the source. */
  prepareImage(input: ImageInput, options: ImageOptions = {}, source: ImageSourceOptions = {}): Promise<PreparedImage> {
    return this.#images.prepare(input, options, source);
  }

  /** The model's video settings (`video_sampling`), or undefined when it does not read video. */
  get videoOptions(): VideoProcessorOptions | undefined {
    return this.#videos.processor;
  }

  /**
   * Probes and samples one video (a path, URL, `data:` URI, `-` or bytes; nothing is decoded yet); the
   * result can be passed in messages. Call its dispose() when done: a video read from stdin or a
   * download is kept in a temporary file until then. VIDEO_UNSUPPORTED for a model without video.
   */
  async prepareVideo(input: string | Uint8Array, options: VideoOptions = {}, source: ImageSourceOptions = {}): Promise<PreparedVideo> {
    this.#videos.supported();
    const media = await readMediaSource(input, source);
    if (media.kind === 'image') throw new SmolVLMError('VIDEO_INVALID', `${media.label} is an image, not a video`);
    return this.prepareVideoFile(media, options, source.signal);
  }

  /** prepareVideo for a video already read (`readMediaSource`); its temporary copy is removed if this fails. */
  async prepareVideoFile(file: VideoFile, options: VideoOptions = {}, signal?: AbortSignal): Promise<PreparedVideo> {
    try {
      return await this.#videos.prepare(file, options, signal);
    } catch (error) {
      await file.dispose?.();
      throw error;
    }
  }

  /** A prepared video sampled again with other settings (fps, max frames); nothing is probed again. */
  resampleVideo(video: PreparedVideo, options: VideoOptions): PreparedVideo {
    return this.#videos.resample(video, options);
  }

  /**
   * The image processor options prepareImage() uses for `options`: the model's preprocessor_config
   * with the request's overrides (splitting, longest edge) applied. For decoding and tiling images
   * elsewhere, e.g. ahead of time on a worker thread (the caption run's prefetching reader).
   */
  imageProcessorOptions(options: ImageOptions = {}): ImageProcessorOptions {
    return this.#images.processorOptionsFor(options);
  }

  /**
   * An image decoded and tiled elsewhere with imageProcessorOptions(`options`) (`sha256`: the hex
   * SHA-256 of its file bytes) as a prepared image, the same as prepareImage() would give for those
   * bytes and options, so that it can be passed in messages. A USAGE error when its tiles cannot
   * come from these options.
   */
  preparedImageFromTiles(processed: ProcessedImage, sha256: string, options: ImageOptions = {}, label = 'image'): PreparedImage {
    return this.#images.fromProcessed(processed, sha256, label, options);
  }

  /**
   * Renders, expands and tokenizes a conversation. Images must already be prepared (given in order);
   * videos are the prepared videos in the messages. Images are expanded first: a video's expansion
   * holds `<image>` tokens of its own.
   */
  tokenize(messages: readonly ChatMessage[], images: readonly PreparedImage[], addGenerationPrompt = true): TokenizedPrompt {
    const prompt = this.template.render(messages, addGenerationPrompt);
    const videos = messageVideos(messages);
    let expanded = expandImagePlaceholders(prompt, images, this.spec.imageSeqLen);
    if (videos.length > 0) expanded = expandVideoPlaceholders(expanded, videos.map((v) => v.plan.prompt), imagePromptString({ rows: 0, cols: 0 }, this.spec.imageSeqLen));
    const ids = this.tokenizer.encode(expanded);
    const imageSpans = findImageSpans(ids, mediaBlocks(messages, images), this.spec.imageTokenId, this.spec.imageSeqLen);
    return { prompt, ids, images: [...images], ...(videos.length > 0 ? { videos } : {}), imageSpans };
  }

  /**
   * Streams an answer to a conversation. Iterate the stream for text pieces; `result` has usage and
   * timings. A malformed request throws a USAGE SmolVLMError at once.
   */
  generate(request: GenerateRequest): TextStream<GenerationResult> {
    checkGenerateRequest(request);
    return new TextStream(async (emit) => {
      const state = await this.startRequest(request, emit);
      try {
        return await state.run();
      } finally {
        await state.dispose();
      }
    });
  }

  /**
   * Steps 1 and 2 of `generate` (images and videos read, prompt tokenized) on an already checked request,
   * as the state to run the later steps on: the way in for BatchScheduler, which prefills one request at
   * a time and decodes it together with others. The caller disposes of the state when done.
   */
  async startRequest(request: GenerateRequest, emit: (piece: string) => void): Promise<GenerateResponseState> {
    // The vision session is made while the images are read and decoded (off the main thread).
    if (hasMedia(request.messages)) this.vision.prepare();
    const state = new GenerateResponseState(this.#model, request, emit);
    try {
      await state.prepareImages(request.messages, request.image, request.imageSource, request.video);
      state.tokenize(request.messages);
    } catch (error) {
      await state.dispose();
      throw error;
    }
    return state;
  }

  /**
   * The generation core on given token ids and pixel values (no template, no image files): for
   * conformance checks and callers that build prompts themselves.
   */
  generateFromIds(ids: readonly number[], pixelValues: Float32Array | undefined, tileCount: number, options: DecodeOptions = {}): TextStream<GenerationResult> {
    checkIdsRequest(ids, pixelValues, tileCount, options);
    return new TextStream(async (emit) => {
      const state = new GenerateResponseState(this.#model, options, emit);
      const images = pixelValues && tileCount > 0 ? [preparedFromPixels(pixelValues, tileCount)] : [];
      state.usePrompt({ prompt: '', ids: [...ids], images, imageSpans: this.#imageSpans(ids, images) });
      return state.run();
    });
  }

  #imageSpans(ids: readonly number[], images: readonly PreparedImage[]) {
    return findImageSpans(ids, images, this.spec.imageTokenId, this.spec.imageSeqLen);
  }
}

/** What messages call the model: `org/name` for a Hub cache folder, else the directory. */
function modelName(dir: string): string {
  for (const part of dir.split(/[\\/]/).reverse()) {
    const repo = repoFromFolderName(part);
    if (repo) return repo;
  }
  return dir;
}

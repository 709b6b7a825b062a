/**
 * SmolVLM, the library's entry point: load a model directory, prepare images, tokenize, generate.
 * The work happens in generation/ (the request pipeline, sampling, the decode loop, caches).
 */
import { Decoder } from './decoder.js';
import { TokenEmbedder, VisionEncoder } from './encoders.js';
import { SmolVLMError } from './errors.js';
import { DEFAULT_VISION_TILES_PER_CALL, ImageFeatures } from './generation/features.js';
import { ImagePreparer, preparedFromPixels, type ImageOptions, type PreparedImage } from './generation/images.js';
import { findImageSpans } from './generation/prompt-cache.js';
import { checkGenerateRequest, checkIdsRequest } from './generation/request.js';
import { GenerateResponseState, type GenerationModel } from './generation/state.js';
import { TextStream } from './generation/stream.js';
import type { DecodeOptions, GenerateRequest, GenerationResult, TokenizedPrompt } from './generation/types.js';
import { imageProcessorOptionsFromConfig, type ImageProcessorOptions, type ProcessedImage } from './image/index.js';
import type { ImageSourceOptions } from './image/source.js';
import { checkLoadArguments, type LoadOptions } from './load-options.js';
import { readModelSpec, type ModelSpec } from './model-config.js';
import { availableDtypes, DEFAULT_DTYPE_PREFERENCE, readModelDirectory, SESSION_NAMES, type Dtype, type DtypeSpec, type ModelDirectory, type SessionDtypes } from './model-dir.js';
import { ChatTemplate, expandImagePlaceholders, type ChatMessage, type ImageInput } from './prompt.js';
import { intraOpThreads } from './runtime.js';
import { TextTokenizer } from './tokenizer.js';

export { DEFAULT_VISION_TILES_PER_CALL } from './generation/features.js';
export { isPreparedImage, type ImageOptions, type PreparedImage } from './generation/images.js';
export type { FinishReason, GenerateRequest, GenerationResult, ImageUsage, Timings, TokenizedPrompt, Usage } from './generation/types.js';
export type { LoadOptions } from './load-options.js';

/** A loaded SmolVLM: tokenizer, chat template, image processor and the three ONNX sessions. */
export class SmolVLM {
  readonly tokenizer: TextTokenizer;
  readonly template: ChatTemplate;
  readonly spec: ModelSpec;
  readonly processorOptions: ImageProcessorOptions;
  readonly #images: ImagePreparer;
  /** What every request shares: the sessions, the tokenizer, the features cache. */
  readonly #model: GenerationModel;

  private constructor(
    readonly directory: ModelDirectory,
    readonly vision: VisionEncoder,
    readonly embedder: TokenEmbedder,
    readonly decoder: Decoder,
    readonly loadMs: number,
    visionTilesPerCall: number,
  ) {
    this.tokenizer = new TextTokenizer(directory.tokenizerJson, directory.tokenizerConfig);
    this.template = new ChatTemplate(directory.chatTemplate);
    this.spec = readModelSpec(directory);
    this.processorOptions = imageProcessorOptionsFromConfig(directory.preprocessorConfig);
    if (embedder.hiddenSize !== decoder.hiddenSize) {
      throw new SmolVLMError('MODEL_INVALID', `embed_tokens (${embedder.hiddenSize}) and decoder (${decoder.hiddenSize}) hidden sizes differ in ${directory.dir}`);
    }
    this.#images = new ImagePreparer(this.processorOptions, this.tokenizer, this.spec.imageSeqLen);
    const features = new ImageFeatures(vision, decoder.hiddenSize, this.spec.imageSeqLen, visionTilesPerCall);
    this.#model = {
      tokenizer: this.tokenizer,
      spec: this.spec,
      embedder,
      decoder,
      features,
      loadMs,
      prepareImage: (input, options, source) => this.prepareImage(input, options, source),
      tokenize: (messages, images) => this.tokenize(messages, images),
    };
  }

  /** Loads a model directory in the official layout. Bad arguments are USAGE errors. */
  static async load(dir: string, options: LoadOptions = {}): Promise<SmolVLM> {
    checkLoadArguments(dir, options);
    const started = performance.now();
    const runtime = { ...options, threads: intraOpThreads(options.threads, options.onWarning) };
    const directory = readModelDirectory(dir, options.dtype ?? defaultDtypes(dir));
    const [vision, embedder, decoder] = await Promise.all([
      VisionEncoder.load(directory.onnxPaths.vision_encoder, runtime),
      TokenEmbedder.load(directory.onnxPaths.embed_tokens, runtime),
      Decoder.load(directory.onnxPaths.decoder_model_merged, runtime),
    ]);
    return new SmolVLM(directory, vision, embedder, decoder, performance.now() - started, options.visionTilesPerCall ?? DEFAULT_VISION_TILES_PER_CALL);
  }

  get dtypes(): SessionDtypes {
    return this.directory.dtypes;
  }

  get contextLength(): number {
    return this.spec.contextLength;
  }

  /** Reads, decodes and tiles one image; the result can be passed in messages instead of the source. */
  prepareImage(input: ImageInput, options: ImageOptions = {}, source: ImageSourceOptions = {}): Promise<PreparedImage> {
    return this.#images.prepare(input, options, source);
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

  /** Renders, expands and tokenizes a conversation (images must already be prepared, in order). */
  tokenize(messages: readonly ChatMessage[], images: readonly PreparedImage[], addGenerationPrompt = true): TokenizedPrompt {
    const prompt = this.template.render(messages, addGenerationPrompt);
    const expanded = expandImagePlaceholders(prompt, images, this.spec.imageSeqLen);
    const ids = this.tokenizer.encode(expanded);
    return { prompt, ids, images: [...images], imageSpans: this.#imageSpans(ids, images) };
  }

  /**
   * Streams an answer to a conversation. Iterate the stream for text pieces; `result` has usage and
   * timings. A malformed request throws a USAGE SmolVLMError at once.
   */
  generate(request: GenerateRequest): TextStream<GenerationResult> {
    checkGenerateRequest(request);
    return new TextStream(async (emit) => {
      const state = new GenerateResponseState(this.#model, request, emit);
      await state.prepareImages(request.messages, request.image, request.imageSource);
      state.tokenize(request.messages);
      return state.run();
    });
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

/** Per session, the first dtype of the preference list whose file exists in `dir`. */
function defaultDtypes(dir: string): DtypeSpec | undefined {
  const spec: Partial<Record<(typeof SESSION_NAMES)[number], Dtype>> = {};
  for (const session of SESSION_NAMES) {
    const present = availableDtypes(dir, session);
    const choice = DEFAULT_DTYPE_PREFERENCE.find((d) => present.includes(d));
    if (choice) spec[session] = choice;
  }
  return spec;
}

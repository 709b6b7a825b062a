export { SmolVLM, isPreparedImage, isPreparedVideo, VIDEO_RESIZE_MODES } from './core/model.js';
export { loadModel, type LoadModelOptions } from './core/load-model.js';
export {
  DEFAULT_MODEL,
  MODEL_ALIASES,
  listCachedModels,
  pullModel,
  removeCachedModel,
  resolveModelSource,
  type CachedModel,
  type DownloadProgress,
  type HubOptions,
  type ModelAlias,
  type ModelSource,
} from './core/hub/index.js';
/** For front ends that name Hub models and manage the cache (the CLI's --model, pull, models and rm). */
export { formatRef, hubCacheDir, parseModelReference, type CachedRevision, type ModelReference, type RemoveResult } from './core/hub/index.js';
/** Re-hashes cached blobs against their names (`smolvlm models --verify`), moving bad ones aside with `fix`. */
export { describeBadBlob, verifyCachedBlobs, type BadBlob, type CacheVerifyResult, type VerifyCacheOptions } from './core/hub/index.js';
export type {
  LoadOptions,
  ImageOptions,
  PreparedImage,
  GenerateRequest,
  GenerationResult,
  Usage,
  ImageUsage,
  Timings,
  TokenizedPrompt,
  PreparedVideo,
  VideoOptions,
  VideoProgress,
  VideoResize,
  VideoUsage,
} from './core/model.js';
export type { ChatMessage, ContentPart, ImageInput, MediaPart, Role, VideoInput } from './core/prompt.js';
export { DESCRIBE_PROMPT } from './core/prompt.js';
/** The image processor's options and output (SmolVLM.imageProcessorOptions, SmolVLM.preparedImageFromTiles). */
export type { ImageProcessorOptions, ProcessedImage } from './core/image/index.js';
export type { SamplingOptions } from './core/generation/sampling.js';
export type { FinishReason } from './core/generation/types.js';
/** The decoding options of SmolVLM.generateFromIds: a GenerateRequest without messages and images. */
export type { DecodeOptions } from './core/generation/types.js';
export { PromptCache } from './core/generation/prompt-cache.js';
export { TextStream } from './core/generation/stream.js';
/**
 * Many requests on one model, decoded together: `new BatchScheduler(model, { maxBatch })`, then
 * `scheduler.generate(request)` as `model.generate`; `active`, `waiting`, `close()`.
 */
export { BatchScheduler, DEFAULT_MAX_BATCH, type BatchSchedulerOptions } from './core/generation/scheduler.js';
export { SmolVLMError, isSmolVLMError, type ErrorCode } from './core/errors.js';
export { DTYPES, DTYPE_SUFFIXES, DEFAULT_DTYPE_PREFERENCE, parseDtypeSpec, type Dtype, type DtypeSpec, type SessionName } from './core/model-files/dtypes.js';
/** The dtype each of the three ONNX sessions was loaded with (SmolVLM.dtypes, ModelSource.dtypes). */
export type { SessionDtypes } from './core/model-files/dtypes.js';
export {
  Conversation,
  isConversationVideo,
  DEFAULT_CONVERSATION_MAX_TOKENS,
  TRANSCRIPT_FORMAT,
  TRANSCRIPT_VERSION,
  parseTranscript,
  type ContextUsage,
  type ConversationImage,
  type ConversationMedia,
  type ConversationVideo,
  type ConversationMessage,
  type ConversationNotice,
  type ConversationOptions,
  type ConversationSettings,
  type ConversationTranscript,
  type ImageArgument,
  type ImageListing,
  type MissingImage,
  type OverflowPolicy,
  type RestoreOptions,
  type RestoreReport,
  type TranscriptImage,
  type TranscriptMessage,
  type TranscriptSettings,
  type TurnOptions,
  type TurnResult,
} from './core/conversation/index.js';

// The generation settings table (names, flags, ranges, help; parsing and validation): what the CLI's
// flags, chat's `/set` and transcripts derive from.
export {
  SETTINGS,
  checkSetting,
  findSetting,
  parseSettingText,
  settingProblem,
  settingSpec,
  settingsFromSnakeCase,
  settingsToSnakeCase,
  validateSettings,
  type GenerationSettings,
  type SettingKey,
  type SettingKind,
  type SettingSpec,
  type SnakeCaseSettings,
} from './core/settings.js';
// Image sources as the command line names them: `-` for stdin (at most once), labels for messages, and
// local paths as people type them (`~`, `file://`, image extensions).
export { STDIN_SOURCE, assertSingleStdinSource, sourceLabel, type ImageSourceOptions } from './core/image/source.js';
export {
  IMAGE_EXTENSIONS,
  VIDEO_EXTENSIONS,
  expandHome,
  hasImageExtension,
  hasVideoExtension,
  isFileUrl,
  resolveLocalPath,
  type PathResolveOptions,
} from './core/image/references.js';
// Video input: the environment variable naming the ffmpeg binary to use.
export { FFMPEG_ENV } from './core/video/index.js';
/** Reads a local image argument now and throws what using it would (a typo fails before any model download). */
export { checkImageSource } from './core/image/preflight.js';
/** The image format bytes start with (undefined when none): the CLI tells image bytes on stdin from a question. */
export { IMAGE_FORMAT_NAMES, sniffImageFormat } from './core/image/sniff.js';
// Sizes in words and the package version, the same in the library's messages and the CLI's output.
export { formatBytes, type FormatBytesOptions } from './core/format.js';
/** Why a file-system call failed, in words ("permission denied"), for messages naming the file. */
export { fsErrorReason } from './core/fs-errors.js';
export { packageVersion } from './core/version.js';
/**
 * Whether onnxruntime's int8 (U8S8) kernel saturates on this CPU (x86 without VNNI), how that is known
 * (SMOLVLM_INT8_SATURATES override, the remembered or fresh onnxruntime probe, CPU flags), and a summary
 * such as "saturating (AVX2, no VNNI)".
 */
export { detectInt8Kernels, INT8_SATURATES_ENV, type Int8KernelReport } from './core/int8-kernels.js';
/**
 * The default dtype per session: uint8 (then quantized) over int8 where int8 kernels saturate, else int8
 * first; `int8KernelsLine` gives "int8 kernels: saturating (AVX2, no VNNI) → default uint8".
 */
export {
  chooseDefaultDtypes,
  defaultDtypePreference,
  int8KernelsLine,
  SATURATING_INT8_DTYPE_PREFERENCE,
  type DefaultDtypeChoice,
} from './core/default-dtype.js';
// The OpenAI-compatible server (`smolvlm serve`): start one on a loaded model; the engine seam (what
// generates: the batched scheduler or one request at a time); the image URL policy; the request log;
// the chat page's routes (chatPageRoutes: the page at / and its /ui/config).
export {
  DEFAULT_HOST,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_PORT,
  DEFAULT_QUEUE,
  SequentialEngine,
  SmolVLMServer,
  chatPageRoutes,
  imageUrlPolicy,
  isLoopbackHost,
  startServer,
  type ChatPageConfig,
  type GenerationEngine,
  type HealthJson,
  type ImageUrlPolicy,
  type RequestLog,
  type ResponseFormat,
  type Route,
  type ServerDefaults,
  type ServerOptions,
} from './core/server/index.js';
/**
 * The optimized-graph cache (`$SMOLVLM_CACHE/optimized`, else `~/.cache/smolvlm/optimized`): its entries with the
 * model each was made from, for `models` (sizes), `rm` (a model's entries go with it) and `models --prune`.
 */
export { defaultOptimizedGraphCacheDir } from './core/optimized-graph-cache-dir.js';
export {
  hubRepoOfPath,
  listOptimizedGraphs,
  optimizedGraphsOfRepo,
  removeOptimizedGraphs,
  type OptimizedGraphEntry,
  type OptimizedGraphRemoval,
} from './core/optimized-graph-cache-list.js';
/**
 * Structured output: `generate({ ..., format: 'json' | { schema } })` and Conversation's `format`
 * constrain the answer token by token to JSON or to a JSON Schema; `result.structured` then holds the
 * parsed value (`data`) or why the document is incomplete. checkOutputFormat checks a format up front
 * (USAGE naming the keyword it refuses), readSchemaArgument reads a `--schema FILE|JSON` value,
 * formatFromResponseFormat maps an OpenAI-style `response_format`, readStructuredAnswer reads an
 * answer's text. StructuredOutput and JsonConstraint drive the grammar engine in a decode loop of
 * your own (one StructuredOutput per model; SmolVLM.structuredOutput() returns the model's).
 */
export {
  checkOutputFormat,
  checkSchema,
  formatFromResponseFormat,
  JsonConstraint,
  readSchemaArgument,
  readStructuredAnswer,
  StructuredOutput,
  type JsonObject,
  type JsonSchema,
  type JsonValue,
  type OutputFormat,
  type StructuredAnswer,
  type StructuredModelInfo,
} from './core/structured/index.js';
/** Versions and platform for `smolvlm version` and bug reports (loads onnxruntime and sharp). */
export { environmentReport, formatEnvironmentReport, type EnvironmentReport } from './core/environment.js';

// Captioning many images (`smolvlm caption`): collectImages() turns files, folders, globs and a
// files-from list into a sorted list of images; captionImages() captions them with a Captioner (a
// local SmolVLM, or an OpenAI-compatible server) as an async iterator of results, writing a JSON-lines
// file (resumed by default), sidecar captions and an errors file as each caption finishes.
export {
  CaptionRun,
  DEFAULT_CAPTION_BATCH,
  DEFAULT_PREFETCH,
  DEFAULT_REMOTE_CONCURRENCY,
  DEFAULT_REMOTE_RETRIES,
  DEFAULT_REMOTE_TIMEOUT_MS,
  DEFAULT_SIDECAR_EXTENSION,
  FILES_FROM_STDIN,
  LocalCaptioner,
  PrefetchingImageReader,
  RemoteCaptioner,
  captionImages,
  collectImages,
  createLocalCaptioner,
  createRemoteCaptioner,
  fileImageReader,
  batchedEngine,
  modelEngine,
  readFilesFrom,
  type CaptionEngine,
  type CaptionEngineFactory,
  type CaptionFailure,
  type CaptionImage,
  type CaptionOutput,
  type CaptionOutputOptions,
  type CaptionProgress,
  type CaptionRequest,
  type CaptionResult,
  type CaptionRunOptions,
  type CaptionSummary,
  type CaptionTimings,
  type CaptionUsage,
  type Captioner,
  type CollectImagesOptions,
  type CollectedImages,
  type FileReaderOptions,
  type IgnoredInput,
  type ImageReader,
  type LocalCaptionerOptions,
  type PixelOptions,
  type PrefetchReaderOptions,
  type PreparedPixels,
  type RemoteCaptionerOptions,
  type RemoteRetry,
} from './core/caption/index.js';

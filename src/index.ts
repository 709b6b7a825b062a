export { SmolVLM, isPreparedImage } from './core/model.js';
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
} from './core/model.js';
export { DESCRIBE_PROMPT } from './core/prompt.js';
/** The image processor's options and output (SmolVLM.imageProcessorOptions, SmolVLM.preparedImageFromTiles). */
export type { ImageProcessorOptions, ProcessedImage } from './core/image/index.js';
export type { ChatMessage, ContentPart, ImageInput, Role } from './core/prompt.js';
export type { SamplingOptions } from './core/generation/sampling.js';
export type { FinishReason } from './core/generation/types.js';
/** The decoding options of SmolVLM.generateFromIds: a GenerateRequest without messages and images. */
export type { DecodeOptions } from './core/generation/types.js';
export { PromptCache } from './core/generation/prompt-cache.js';
export { TextStream } from './core/generation/stream.js';
export { SmolVLMError, isSmolVLMError, type ErrorCode } from './core/errors.js';
export { DTYPES, DTYPE_SUFFIXES, DEFAULT_DTYPE_PREFERENCE, parseDtypeSpec, type Dtype, type DtypeSpec, type SessionName } from './core/model-dir.js';
export {
  Conversation,
  DEFAULT_CONVERSATION_MAX_TOKENS,
  TRANSCRIPT_FORMAT,
  TRANSCRIPT_VERSION,
  parseTranscript,
  type ContextUsage,
  type ConversationImage,
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
export { IMAGE_EXTENSIONS, expandHome, hasImageExtension, isFileUrl, resolveLocalPath, type PathResolveOptions } from './core/image/references.js';
// The Hub cache as `smolvlm models`, `pull` and `rm` show it: where it is, `org/name@revision`, what a
// listing and a removal report, dtypes per ONNX session.
export { hubCacheDir, formatRef, type CachedRevision, type RemoveResult } from './core/hub/index.js';
export type { SessionDtypes } from './core/model-dir.js';
// Sizes in words and the package version, the same in the library's messages and the CLI's output.
export { formatBytes, type FormatBytesOptions } from './core/format.js';
export { packageVersion } from './core/version.js';

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

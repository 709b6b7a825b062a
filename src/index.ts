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
} from './core/model.js';
export type { ChatMessage, ContentPart, ImageInput, Role } from './core/prompt.js';
export type { SamplingOptions } from './core/generation/sampling.js';
export type { FinishReason } from './core/generation/types.js';
/** The decoding options of SmolVLM.generateFromIds: a GenerateRequest without messages and images. */
export type { DecodeOptions } from './core/generation/types.js';
export { PromptCache } from './core/generation/prompt-cache.js';
export { TextStream } from './core/generation/stream.js';
export { SmolVLMError, isSmolVLMError, type ErrorCode } from './core/errors.js';
export { DTYPES, DTYPE_SUFFIXES, DEFAULT_DTYPE_PREFERENCE, parseDtypeSpec, type Dtype, type DtypeSpec, type SessionName } from './core/model-files/dtypes.js';
/** The dtype each of the three ONNX sessions was loaded with (SmolVLM.dtypes, ModelSource.dtypes). */
export type { SessionDtypes } from './core/model-files/dtypes.js';
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

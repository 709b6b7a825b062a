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
export type { ChatMessage, ContentPart, ImageInput, Role } from './core/prompt.js';
export type { SamplingOptions } from './core/sampling.js';
export type { FinishReason } from './core/generate.js';
export { PromptCache } from './core/prompt-cache.js';
export { TextStream } from './core/stream.js';
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
} from './core/conversation.js';
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

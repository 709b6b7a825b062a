/** The conversation's public API: the Conversation class, its data and its transcript format. */
export {
  Conversation,
  DEFAULT_ANSWER_RESERVE,
  type ContextUsage,
  type ConversationNotice,
  type ConversationOptions,
  type OverflowPolicy,
  type TurnOptions,
  type TurnResult,
} from './conversation.js';
export { DEFAULT_CONVERSATION_MAX_TOKENS, type ConversationMessage, type ConversationSettings } from './types.js';
export { isConversationVideo, type ConversationImage, type ConversationMedia, type ConversationVideo, type ImageArgument, type ImageListing } from './images.js';
export type { MarkdownOptions } from './markdown.js';
export {
  TRANSCRIPT_FORMAT,
  TRANSCRIPT_VERSION,
  parseTranscript,
  type ConversationTranscript,
  type MissingImage,
  type RestoreOptions,
  type RestoreReport,
  type TranscriptImage,
  type TranscriptMessage,
  type TranscriptSettings,
} from './transcript.js';

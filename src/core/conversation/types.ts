/** The data of a conversation, shared by the Conversation class, its transcripts and its Markdown export. */
import type { FinishReason } from '../generation/types.js';
import type { GenerationSettings } from '../settings.js';
import type { ConversationMedia, MediaEntry } from './images.js';

export const DEFAULT_CONVERSATION_MAX_TOKENS = 512;

/**
 * A conversation's generation settings (see the table in core/settings.ts), with `maxTokens` always
 * set (default 512). `split` and `imageSize` apply to every image of the conversation, `fps` and
 * `maxFrames` to every video.
 */
export interface ConversationSettings extends GenerationSettings {
  /** Most tokens per answer (default 512). */
  maxTokens: number;
}

export interface ConversationMessage {
  readonly role: 'user' | 'assistant';
  /** Assistant answers are stored trimmed (the template adds the space after "Assistant:"). */
  readonly text: string;
  /** Its images and videos (a video's `prepared` is a PreparedVideo). */
  readonly images: readonly ConversationMedia[];
  /** Assistant messages: why the answer ended ('aborted': stopped early, the partial answer kept). */
  readonly finishReason?: FinishReason;
}

/** A message as the conversation keeps it: its images with their bytes, for re-tiling. */
export interface MessageEntry {
  role: 'user' | 'assistant';
  text: string;
  images: MediaEntry[];
  finishReason?: FinishReason;
}

/** What a transcript or the Markdown export is written from. */
export interface ConversationSnapshot {
  readonly modelName: string | undefined;
  readonly system: string | undefined;
  readonly settings: Readonly<ConversationSettings>;
  readonly messages: readonly ConversationMessage[];
}

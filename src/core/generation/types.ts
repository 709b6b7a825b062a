/** The shapes of a generation request and its result (the library's public types). */
import type { ImageSourceOptions } from '../image/source.js';
import type { ChatMessage } from '../prompt.js';
import type { OutputFormat, StructuredAnswer } from '../structured/index.js';
import type { ImageOptions, PreparedImage } from './images.js';
import type { ImageSpan, PromptCache } from './prompt-cache.js';
import type { SamplingOptions } from './sampling.js';
import type { PreparedVideo, VideoOptions } from './videos.js';

/** Why an answer ended: an end-of-sequence token, maxNewTokens, a stop string, the full context, or the caller's AbortSignal. */
export type FinishReason = 'eos' | 'length' | 'stop' | 'context' | 'aborted';

export interface GenerateRequest {
  messages: ChatMessage[];
  /** Default 1024; never more than the context has room for. */
  maxNewTokens?: number;
  sampling?: SamplingOptions;
  /** Stop when the text contains one of these (the stop string is not part of the answer). */
  stop?: string[];
  image?: ImageOptions;
  /** Video sampling (fps, max frames), fitting to the context, and frame-by-frame progress. */
  video?: VideoOptions;
  /** Where image and video paths, URLs and `-` are read from. */
  imageSource?: ImageSourceOptions;
  signal?: AbortSignal;
  /** Conversation state: a follow-up request that extends the cached prompt prefills only what it adds. */
  cache?: PromptCache;
  /** Called with each generated id (after sampling). */
  onToken?: (id: number) => void;
  /**
   * Structured output: the answer is constrained token by token to JSON ('json': an object) or to a
   * JSON Schema ({ schema }). A request field, not a row of the settings table (settings.ts): it is a
   * document, not a scalar with a range, and it is checked by checkOutputFormat. Not with `stop`.
   */
  format?: OutputFormat;
}

/** What a request asks of decoding once its prompt is tokenized (GenerateRequest without messages and images). */
export type DecodeOptions = Omit<GenerateRequest, 'messages' | 'image' | 'video' | 'imageSource'>;

export interface ImageUsage {
  label: string;
  rows: number;
  cols: number;
  tiles: number;
  tokens: number;
}

export interface VideoUsage {
  label: string;
  /** Frames the model saw. */
  frames: number;
  /** The prompt's `MM:SS` of each frame. */
  timestamps: string[];
  /** Seconds. */
  duration: number;
  /** Prompt tokens of the video (intro, stamps, one image block per frame). */
  tokens: number;
  /** Set when fitting to the context sampled fewer frames: how many the settings would have given. */
  reducedFrom?: number;
  /** Decoding and encoding its frames (0 when their features were cached). */
  encodeMs: number;
}

export interface Usage {
  promptTokens: number;
  /** Prompt tokens that came from the cache and were not prefilled again. */
  cachedTokens: number;
  imageTokens: number;
  images: ImageUsage[];
  videos: VideoUsage[];
  completionTokens: number;
}

export interface Timings {
  /** Loading the model (once per model). */
  loadMs: number;
  /** Reading, decoding and tiling images. */
  imageMs: number;
  /** Vision encoder (and, for videos, decoding their frames). */
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
  /**
   * With a format: `{ complete: true, data }` (the parsed answer, valid against the schema), or
   * `{ complete: false, message }` when generation stopped before the document ended (the text is kept).
   */
  structured?: StructuredAnswer;
  usage: Usage;
  timings: Timings;
}

export interface TokenizedPrompt {
  prompt: string;
  ids: number[];
  images: PreparedImage[];
  /** The prompt's videos, in order (absent when it has none). */
  videos?: PreparedVideo[];
  imageSpans: ImageSpan[];
}

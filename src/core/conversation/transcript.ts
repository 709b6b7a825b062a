/**
 * The JSON transcript of a conversation (documented in the README, "Chat"): writing it, checking
 * untyped JSON against it, and reading it back into messages with their images read again. Its
 * settings use the snake_case names of the settings table and are checked by the table's rules.
 */
import path from 'node:path';
import { isSmolVLMError, SmolVLMError } from '../errors.js';
import type { FinishReason } from '../generation/types.js';
import { STDIN_SOURCE } from '../image/source.js';
import { SETTINGS, settingsFromSnakeCase, settingsToSnakeCase, type SnakeCaseSettings } from '../settings.js';
import type { ConversationMedia, ImagePreparer, ImageSettings, MediaEntry } from './images.js';
import { DEFAULT_CONVERSATION_MAX_TOKENS, type ConversationSettings, type ConversationSnapshot, type MessageEntry } from './types.js';

export const TRANSCRIPT_FORMAT = 'smolvlm-chat';
export const TRANSCRIPT_VERSION = 1;

export interface TranscriptImage {
  source: string;
  path?: string;
  label?: string;
}

export interface TranscriptMessage {
  role: 'system' | 'user' | 'assistant';
  text: string;
  /** Image references; a plain string is read as `{ source }`. */
  images?: Array<TranscriptImage | string>;
  finish_reason?: FinishReason;
}

/** The settings that differ from the defaults, by their snake_case names (`max_tokens`, `top_p`, …). */
export type TranscriptSettings = SnakeCaseSettings;

export interface ConversationTranscript {
  format: typeof TRANSCRIPT_FORMAT;
  version: number;
  model?: string;
  saved?: string;
  settings: TranscriptSettings;
  messages: TranscriptMessage[];
}

export interface MissingImage {
  /** Index of the message in the transcript. */
  message: number;
  source: string;
  reason: string;
}

export interface RestoreOptions {
  /** Directory relative image paths are also tried against (the transcript's folder). */
  baseDir?: string;
  signal?: AbortSignal;
}

export interface RestoreReport {
  messages: number;
  images: number;
  /** Images that could not be re-attached; their messages keep their text. */
  missing: MissingImage[];
}

/** A conversation read back from a transcript, for Conversation.restore() to take over. */
export interface RestoredConversation {
  settings: ConversationSettings;
  system: string | undefined;
  messages: MessageEntry[];
  model: string | undefined;
  report: RestoreReport;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** The documented transcript: messages with image references (not pixels) and the settings. */
export function writeTranscript(conversation: ConversationSnapshot): ConversationTranscript {
  const messages: TranscriptMessage[] = [];
  if (conversation.system !== undefined) messages.push({ role: 'system', text: conversation.system });
  for (const m of conversation.messages) {
    const message: TranscriptMessage = { role: m.role, text: m.text };
    if (m.images.length > 0) message.images = m.images.map(transcriptImage);
    if (m.finishReason !== undefined) message.finish_reason = m.finishReason;
    messages.push(message);
  }
  return {
    format: TRANSCRIPT_FORMAT,
    version: TRANSCRIPT_VERSION,
    ...(conversation.modelName !== undefined ? { model: conversation.modelName } : {}),
    saved: new Date().toISOString(),
    settings: settingsToSnakeCase(conversation.settings),
    messages,
  };
}

function transcriptImage(image: ConversationMedia): TranscriptImage {
  const out: TranscriptImage = { source: image.source };
  if (image.path !== undefined) out.path = image.path;
  if (image.label !== image.source) out.label = image.label;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checking

const FINISH_REASONS: readonly FinishReason[] = ['eos', 'length', 'stop', 'context', 'aborted'];
const SETTING_NAMES: ReadonlySet<string> = new Set(SETTINGS.map((s) => s.name));

function notATranscript(what: string): never {
  throw new SmolVLMError('USAGE', `not a smolvlm chat transcript: ${what}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the shape of a transcript and its settings; throws SmolVLMError('USAGE') naming the first problem. */
export function parseTranscript(data: unknown): ConversationTranscript {
  if (!isObject(data)) return notATranscript('expected a JSON object');
  if (data.format !== TRANSCRIPT_FORMAT) notATranscript(`"format" must be "${TRANSCRIPT_FORMAT}"`);
  const version = data.version;
  if (typeof version !== 'number' || version > TRANSCRIPT_VERSION) {
    notATranscript(`unsupported "version" ${JSON.stringify(version)} (this smolvlm reads ${TRANSCRIPT_VERSION})`);
  }
  const settings = parseSettings(data.settings ?? {});
  if (!Array.isArray(data.messages)) return notATranscript('"messages" must be an array');
  const messages = data.messages.map(parseMessage);
  return {
    format: TRANSCRIPT_FORMAT,
    version,
    ...(typeof data.model === 'string' ? { model: data.model } : {}),
    ...(typeof data.saved === 'string' ? { saved: data.saved } : {}),
    settings,
    messages,
  };
}

/** Known names only, each checked by the settings table; null means the default (left out). */
function parseSettings(raw: unknown): TranscriptSettings {
  if (!isObject(raw)) return notATranscript('"settings" must be an object');
  for (const name of Object.keys(raw)) if (!SETTING_NAMES.has(name)) notATranscript(`unknown setting "${name}"`);
  try {
    return settingsToSnakeCase(settingsFromSnakeCase(raw, ''));
  } catch (error) {
    // The table's message names the field: "top_p must be in (0, 1]".
    if (isSmolVLMError(error)) throw new SmolVLMError('USAGE', `transcript settings: ${error.message}`, { cause: error });
    throw error;
  }
}

function parseMessage(raw: unknown, i: number): TranscriptMessage {
  const where = `message ${i + 1}`;
  if (!isObject(raw)) return notATranscript(`${where} is not an object`);
  const { role, text, finish_reason: finishReason } = raw;
  if (role !== 'system' && role !== 'user' && role !== 'assistant') return notATranscript(`${where} has role ${JSON.stringify(role)}`);
  if (typeof text !== 'string') return notATranscript(`${where} has no "text" string`);
  if (role === 'system' && i !== 0) notATranscript('the system message must come first');
  const images = raw.images ?? [];
  if (!Array.isArray(images)) return notATranscript(`${where}: "images" must be an array`);
  if (images.length > 0 && role !== 'user') notATranscript(`${where}: only user messages have images`);
  for (const image of images) {
    if (typeof image !== 'string' && !(isObject(image) && typeof image.source === 'string')) {
      notATranscript(`${where}: an image must be a string or { "source": "…" }`);
    }
  }
  if (finishReason !== undefined && !FINISH_REASONS.includes(finishReason as FinishReason)) notATranscript(`${where}: unknown finish_reason`);
  return {
    role,
    text,
    ...(images.length > 0 ? { images: images as Array<TranscriptImage | string> } : {}),
    ...(finishReason !== undefined ? { finish_reason: finishReason as FinishReason } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Restoring

/**
 * Reads a transcript back: its settings (the defaults for those it leaves out), system message and
 * messages, with the images read again from their sources and tiled with the transcript's settings.
 * An image that cannot be read is reported in `missing`; its message keeps its text. Throws (USAGE)
 * for a transcript that is not valid, and rethrows ABORTED.
 */
export async function readTranscript(data: unknown, images: ImagePreparer, options: RestoreOptions = {}): Promise<RestoredConversation> {
  const transcript = parseTranscript(data);
  const settings: ConversationSettings = { maxTokens: DEFAULT_CONVERSATION_MAX_TOKENS, ...settingsFromSnakeCase(transcript.settings, '') };
  const missing: MissingImage[] = [];
  const messages: MessageEntry[] = [];
  let system: string | undefined;
  let imageCount = 0;
  for (const [index, message] of transcript.messages.entries()) {
    if (message.role === 'system') {
      system = message.text;
      continue;
    }
    const entries: MediaEntry[] = [];
    for (const ref of message.images ?? []) {
      const image = typeof ref === 'string' ? { source: ref } : ref;
      try {
        entries.push(await rereadImage(image, images, settings, options));
        imageCount++;
      } catch (error) {
        if (isSmolVLMError(error) && error.code === 'ABORTED') throw error;
        missing.push({ message: index, source: image.source, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    messages.push({ role: message.role, text: message.text, images: entries, ...(message.finish_reason ? { finishReason: message.finish_reason } : {}) });
  }
  return { settings, system, messages, model: transcript.model, report: { messages: messages.length, images: imageCount, missing } };
}

/** Reads a transcript's image again: from its absolute path, else its source (a relative one against `baseDir` first). */
async function rereadImage(image: TranscriptImage, images: ImagePreparer, settings: ImageSettings, options: RestoreOptions): Promise<MediaEntry> {
  if (image.source === STDIN_SOURCE) throw new SmolVLMError('IMAGE_NOT_FOUND', 'it was read from stdin and cannot be read again');
  if (image.source === '' && image.path === undefined) throw new SmolVLMError('IMAGE_NOT_FOUND', 'it was given as bytes and has no source to read again');
  const name = { source: image.source, label: image.label ?? image.source };
  let firstError: unknown;
  for (const candidate of imageCandidates(image, options.baseDir)) {
    try {
      return await images.read(candidate, settings, options.signal, name);
    } catch (error) {
      if (isSmolVLMError(error) && error.code === 'ABORTED') throw error;
      firstError ??= error;
      // Only a missing file makes the next candidate worth trying.
      if (!isSmolVLMError(error) || error.code !== 'IMAGE_NOT_FOUND') break;
    }
  }
  throw firstError;
}

function imageCandidates(image: TranscriptImage, baseDir: string | undefined): string[] {
  const candidates: string[] = [];
  if (image.path !== undefined) candidates.push(image.path);
  if (image.source !== '') {
    const isUrl = /^[a-z][a-z0-9+.-]*:/i.test(image.source) && !/^[a-z]:[\\/]/i.test(image.source);
    if (!isUrl && baseDir !== undefined && !path.isAbsolute(image.source) && !image.source.startsWith('~')) {
      candidates.push(path.resolve(baseDir, image.source));
    }
    candidates.push(image.source);
  }
  return candidates;
}

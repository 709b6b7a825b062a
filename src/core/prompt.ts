import type { Template } from '@huggingface/jinja';
import { jinja } from './lazy-modules.js';
import { SmolVLMError } from './errors.js';
import { FAKE_IMAGE_TOKEN, GLOBAL_IMAGE_TOKEN, IMAGE_TOKEN } from './model-files/spec.js';
import { VIDEO_CHAT_TEMPLATE, VIDEO_TOKEN } from './video/prompt.js';

/** What SmolVLM's model card asks: the prompt `describe` and `caption` use unless told otherwise. */
export const DESCRIBE_PROMPT = 'Can you describe this image?';

/** The roles a chat message may have. */
export const ROLES = ['system', 'user', 'assistant'] as const;
export type Role = (typeof ROLES)[number];

/** An image in a message: a path, URL, `data:` URI or `-` (stdin), raw encoded bytes, or an already prepared image. */
export type ImageInput = string | Uint8Array | { readonly prepared: true };

/** A video in a message: a path, URL, `data:` URI or `-` (stdin), raw bytes, or an already prepared video. */
export type VideoInput = string | Uint8Array | { readonly preparedVideo: true };

export type ContentPart = { type: 'text'; text: string } | { type: 'image'; image: ImageInput } | { type: 'video'; video: VideoInput };

/** An image or video part of a message. */
export type MediaPart = Exclude<ContentPart, { type: 'text' }>;

export interface ChatMessage {
  role: Role;
  content: string | ContentPart[];
}

/** A prepared image's grid: `rows = cols = 0` means a single tile (no splitting). */
export interface ImageGrid {
  rows: number;
  cols: number;
}

export function contentParts(message: ChatMessage): ContentPart[] {
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
}

/** The images of a conversation in prompt order. */
export function messageImages(messages: readonly ChatMessage[]): ImageInput[] {
  return messages.flatMap((m) => contentParts(m).flatMap((p) => (p.type === 'image' ? [p.image] : [])));
}

/** The images and videos of a conversation in prompt order. */
export function messageMedia(messages: readonly ChatMessage[]): MediaPart[] {
  return messages.flatMap((m) => contentParts(m).filter((p): p is MediaPart => p.type !== 'text'));
}

/** True when a message of the conversation has a video part. */
export function hasVideo(messages: readonly ChatMessage[]): boolean {
  return messages.some((m) => contentParts(m).some((p) => p.type === 'video'));
}

let videoTemplate: Template | undefined;

/**
 * Renders messages with the model's own chat template (Jinja, as transformers renders it), or, when
 * the conversation has a video, with the processor's video template as transformers does.
 */
export class ChatTemplate {
  readonly #template: Template;

  constructor(source: string) {
    this.#template = new (jinja().Template)(source);
  }

  render(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
    const video = hasVideo(messages);
    // A literal placeholder in the text would be expanded as if it were an image or a video.
    const reserved = video ? [IMAGE_TOKEN, VIDEO_TOKEN] : [IMAGE_TOKEN];
    for (const message of messages) {
      for (const part of contentParts(message)) {
        const token = part.type === 'text' ? reserved.find((t) => part.text.includes(t)) : undefined;
        if (token) throw new SmolVLMError('PROMPT_INVALID', `message text must not contain the literal ${token} token; pass images and videos as their own parts`);
      }
    }
    const templateMessages = messages.map((m) => ({
      role: m.role,
      content: contentParts(m).map((p) => (p.type === 'text' ? { type: 'text', text: p.text } : { type: p.type })),
    }));
    const template = video ? (videoTemplate ??= new (jinja().Template)(VIDEO_CHAT_TEMPLATE)) : this.#template;
    return template.render({ messages: templateMessages, add_generation_prompt: addGenerationPrompt });
  }
}

/** The token layout that stands for one image: row-major tiles, then the global image (as transformers' Idefics3Processor expands `<image>`). */
export function imagePromptString(grid: ImageGrid, imageSeqLen: number): string {
  const imageTokens = IMAGE_TOKEN.repeat(imageSeqLen);
  const globalBlock = `${FAKE_IMAGE_TOKEN}${GLOBAL_IMAGE_TOKEN}${imageTokens}${FAKE_IMAGE_TOKEN}`;
  if (grid.rows === 0 && grid.cols === 0) return globalBlock;
  let text = '';
  for (let r = 1; r <= grid.rows; r++) {
    for (let c = 1; c <= grid.cols; c++) text += `${FAKE_IMAGE_TOKEN}<row_${r}_col_${c}>${imageTokens}`;
    text += '\n';
  }
  return `${text}\n${globalBlock}`;
}

/** Replaces the i-th `<image>` placeholder with the layout of the i-th image. */
export function expandImagePlaceholders(prompt: string, grids: readonly ImageGrid[], imageSeqLen: number): string {
  const pieces = prompt.split(IMAGE_TOKEN);
  const placeholders = pieces.length - 1;
  if (placeholders !== grids.length) {
    throw new SmolVLMError('PROMPT_INVALID', `the prompt has ${placeholders} image placeholder(s) but ${grids.length} image(s) were given`);
  }
  let text = pieces[0]!;
  for (let i = 0; i < grids.length; i++) text += imagePromptString(grids[i]!, imageSeqLen) + pieces[i + 1]!;
  return text;
}

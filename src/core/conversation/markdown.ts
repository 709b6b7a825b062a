/** A conversation as readable Markdown (for people; transcript.ts writes what can be loaded back). */
import path from 'node:path';
import { STDIN_SOURCE } from '../image/source.js';
import { settingsToSnakeCase } from '../settings.js';
import { isConversationVideo, type ConversationMedia } from './images.js';
import type { ConversationSnapshot } from './types.js';

export interface MarkdownOptions {
  /** The top heading (default "Conversation"). */
  title?: string;
}

export function conversationMarkdown(conversation: ConversationSnapshot, options: MarkdownOptions = {}): string {
  const lines: string[] = [`# ${options.title ?? 'Conversation'}`, ''];
  const meta = [conversation.modelName !== undefined ? `model ${conversation.modelName}` : undefined, `saved ${new Date().toISOString()}`].filter(Boolean);
  lines.push(`*smolvlm chat · ${meta.join(' · ')}*`, '');
  const settings = Object.entries(settingsToSnakeCase(conversation.settings)).map(([k, v]) => `${k} ${Array.isArray(v) ? JSON.stringify(v) : String(v)}`);
  lines.push(`Settings: ${settings.join(', ')}`, '');
  if (conversation.system !== undefined) lines.push('## System', '', conversation.system, '');
  for (const m of conversation.messages) {
    lines.push(m.role === 'user' ? '## User' : '## Assistant', '');
    lines.push(...m.images.map(imageLine));
    if (m.images.length > 0) lines.push('');
    if (m.text !== '') lines.push(m.text, '');
    if (m.finishReason === 'aborted') lines.push('*(stopped)*', '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** A link to an image (shown) or a video (linked) that can be opened again (a file, a URL), else its label in words. */
function imageLine(image: ConversationMedia): string {
  const target = image.path ?? (image.source !== '' && image.source !== STDIN_SOURCE && !/^data:/i.test(image.source) ? image.source : undefined);
  const video = isConversationVideo(image);
  if (!target) return `*(${video ? 'video' : 'image'}: ${markdownText(image.label)})*`;
  const name = markdownText(path.basename(image.label));
  return video ? `[video: ${name}](<${target}>)` : `![${name}](<${target}>)`;
}

function markdownText(text: string): string {
  return text.replace(/([\\`*_[\]])/g, '\\$1');
}

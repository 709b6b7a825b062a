/**
 * Reading an OpenAI-compatible server's answers: a chat completion (checked where it comes in: it is
 * untyped JSON from another program) and the message of an error body.
 */
import { SmolVLMError } from '../errors.js';
import type { CaptionOutput, CaptionUsage } from './types.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `content` as a string, or as a list of `{type: 'text', text}` parts (some servers answer so). */
function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const parts = content.filter((part): part is { type: 'text'; text: string } => isObject(part) && part.type === 'text' && typeof part.text === 'string');
  return parts.length === content.length ? parts.map((part) => part.text).join('') : undefined;
}

function usageOf(usage: unknown): CaptionUsage | undefined {
  if (!isObject(usage) || typeof usage.prompt_tokens !== 'number' || typeof usage.completion_tokens !== 'number') return undefined;
  const out: CaptionUsage = { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
  const details = usage.prompt_tokens_details;
  if (isObject(details) && typeof details.cached_tokens === 'number') out.cachedTokens = details.cached_tokens;
  return out;
}

/** The caption in a `chat.completion` body; NETWORK error when the body is not one. */
export function parseCompletion(text: string, url: string): CaptionOutput {
  const fail = (why: string): never => {
    throw new SmolVLMError('NETWORK', `${url} sent an answer that is not a chat completion (${why})`);
  };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return fail('not JSON');
  }
  if (!isObject(body) || !Array.isArray(body.choices) || body.choices.length === 0) return fail('no choices');
  const choice: unknown = body.choices[0];
  if (!isObject(choice) || !isObject(choice.message)) return fail('no message');
  const content = contentText(choice.message.content);
  if (content === undefined) return fail('no text content');
  const finishReason = typeof choice.finish_reason === 'string' ? choice.finish_reason : 'unknown';
  return { text: content, finishReason, usage: usageOf(body.usage) };
}

/** The message of an error body (OpenAI's `{error: {message}}`, or `{message}`, `{detail}`), one line, at most 300 characters. */
export function serverMessage(text: string): string {
  let message = text;
  try {
    const body: unknown = JSON.parse(text);
    if (isObject(body)) {
      const candidates = [isObject(body.error) ? body.error.message : body.error, body.message, body.detail];
      const found = candidates.find((c): c is string => typeof c === 'string' && c.trim() !== '');
      if (found !== undefined) message = found;
    }
  } catch {
    // Not JSON: the text itself (an HTML error page from a proxy, say).
  }
  const line = message.replace(/\s+/g, ' ').trim();
  if (line === '') return 'no details';
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

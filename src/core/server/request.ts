/**
 * A chat completion request body (untyped JSON) checked and turned into the library's terms:
 * messages with image parts, the generation settings it sets (the settings table's snake_case
 * names, plus OpenAI's `max_completion_tokens` and a `stop` string), streaming, response_format.
 * Unknown fields are ignored, as OpenAI-compatible servers do; a known field with a wrong value is
 * a 400 naming it.
 */
import type { ChatMessage, ContentPart, Role } from '../prompt.js';
import { SETTINGS, settingProblem, settingsFromSnakeCase, settingSpec, type GenerationSettings, type SettingSpec } from '../settings.js';
import { describeValue, isRecord, type UntypedRecord } from '../untyped.js';
import { invalidField } from './errors.js';
import { checkImageUrl, type ImageUrlPolicy } from './image-policy.js';
import { parseResponseFormat, type ResponseFormat } from './response-format.js';

export interface ChatCompletionRequest {
  /** Image parts hold the URL as sent (a data: URL or an http(s) URL the policy allows). */
  messages: ChatMessage[];
  /** The request field of each image, in prompt order (`messages[1].content[0].image_url`), for error messages. */
  imageParams: string[];
  /** Only the settings the request set. */
  settings: GenerationSettings;
  stream: boolean;
  /** stream_options.include_usage: a last chunk with the usage. */
  includeUsage: boolean;
  responseFormat: ResponseFormat | undefined;
}

/** OpenAI's roles as ours: `developer` is the newer name of `system`. */
const ROLE_NAMES: Readonly<Record<string, Role>> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };

export function parseChatRequest(body: unknown, policy: ImageUrlPolicy): ChatCompletionRequest {
  if (!isRecord(body)) throw invalidField(null, `the request body must be a JSON object, got ${describeValue(body)}`);
  if (body.model !== undefined && body.model !== null && typeof body.model !== 'string') {
    throw invalidField('model', `model must be a string, got ${describeValue(body.model)}`);
  }
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw invalidField('n', `n must be 1 (one choice per request), got ${describeValue(body.n)}`, 'unsupported_value');
  }
  const imageParams: string[] = [];
  const messages = parseMessages(body.messages, policy, imageParams);
  return {
    messages,
    imageParams,
    settings: readSettings(body),
    stream: optionalBoolean(body, 'stream') ?? false,
    includeUsage: readIncludeUsage(body.stream_options),
    responseFormat: parseResponseFormat(body.response_format),
  };
}

function optionalBoolean(record: UntypedRecord, field: string, label = field): boolean | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidField(label, `${label} must be true or false, got ${describeValue(value)}`);
  return value;
}

function readIncludeUsage(options: unknown): boolean {
  if (options === undefined || options === null) return false;
  if (!isRecord(options)) throw invalidField('stream_options', `stream_options must be an object, got ${describeValue(options)}`);
  return optionalBoolean(options, 'include_usage', 'stream_options.include_usage') ?? false;
}

function parseMessages(value: unknown, policy: ImageUrlPolicy, imageParams: string[]): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidField('messages', `messages must be a non-empty array of messages, got ${describeValue(value)}`);
  return value.map((message: unknown, i) => parseMessage(message, `messages[${i}]`, policy, imageParams));
}

function parseMessage(message: unknown, label: string, policy: ImageUrlPolicy, imageParams: string[]): ChatMessage {
  if (!isRecord(message)) throw invalidField(label, `${label} must be an object with role and content, got ${describeValue(message)}`);
  const role = typeof message.role === 'string' ? ROLE_NAMES[message.role] : undefined;
  if (role === undefined) {
    throw invalidField(`${label}.role`, `${label}.role must be "system", "developer", "user" or "assistant", got ${describeValue(message.role)}`);
  }
  const { content } = message;
  if (typeof content === 'string') return { role, content };
  if (!Array.isArray(content)) throw invalidField(`${label}.content`, `${label}.content must be a string or an array of parts, got ${describeValue(content)}`);
  return { role, content: content.map((part: unknown, j) => parsePart(part, `${label}.content[${j}]`, policy, imageParams)) };
}

function parsePart(part: unknown, label: string, policy: ImageUrlPolicy, imageParams: string[]): ContentPart {
  if (!isRecord(part)) throw invalidField(label, `${label} must be a content part object, got ${describeValue(part)}`);
  if (part.type === 'text') {
    if (typeof part.text !== 'string') throw invalidField(`${label}.text`, `${label}.text must be a string, got ${describeValue(part.text)}`);
    return { type: 'text', text: part.text };
  }
  if (part.type === 'image_url') {
    // `image_url` is `{ url, detail? }`; a bare string is accepted too, as several servers do.
    const field = part.image_url;
    const url = typeof field === 'string' ? field : isRecord(field) ? field.url : undefined;
    const param = `${label}.image_url.url`;
    if (typeof url !== 'string' || url === '') throw invalidField(param, `${param} must be a data: URL or an http(s) URL, got ${describeValue(url)}`);
    checkImageUrl(url, param, policy);
    imageParams.push(`${label}.image_url`);
    return { type: 'image', image: url };
  }
  throw invalidField(`${label}.type`, `${label}.type must be "text" or "image_url", got ${describeValue(part.type)}`, 'unsupported_value');
}

/**
 * The settings the request sets, by the settings table's snake_case names (with its rules), plus
 * OpenAI's spellings: `max_completion_tokens` for max_tokens (it wins when both are given) and `stop`
 * as one string.
 */
function readSettings(body: UntypedRecord): GenerationSettings {
  const fields: Record<string, unknown> = { ...body };
  if (typeof body.stop === 'string') fields.stop = [body.stop];
  const completionTokens = body.max_completion_tokens;
  if (completionTokens !== undefined && completionTokens !== null) {
    checkField(settingSpec('maxTokens'), completionTokens, 'max_completion_tokens');
    fields.max_tokens = completionTokens;
  }
  for (const spec of SETTINGS) {
    const value = fields[spec.name];
    if (value !== undefined && value !== null) checkField(spec, value, spec.name);
  }
  return settingsFromSnakeCase(fields, '');
}

function checkField(spec: SettingSpec, value: unknown, param: string): void {
  const problem = settingProblem(spec, value);
  if (problem !== undefined) throw invalidField(param, `${param} must be ${problem}, got ${describeValue(value)}`);
}

/**
 * Checks a generation request where it enters the library: JavaScript callers and servers pass
 * untyped values, and each mistake becomes one USAGE SmolVLMError naming the field, with the rules
 * of the settings table (the same the CLI's flags use).
 */
import { ROLES } from '../prompt.js';
import { checkSetting, settingSpec } from '../settings.js';
import { checkOutputFormat } from '../structured/index.js';
import { describeValue, isRecord, usageError, type UntypedRecord } from '../untyped.js';
import { IMAGE_INPUT_RULE, isPreparedImage } from './images.js';
import { PromptCache } from './prompt-cache.js';
import { SAMPLING_KEYS, validateSampling } from './sampling.js';
import { isPreparedVideo } from './videos.js';

/** What a video in a message may be, completing "must be …". */
const VIDEO_INPUT_RULE = 'a path, URL, data: URI or "-", video bytes (Uint8Array) or a prepared video';

/** Throws unless `request` is a GenerateRequest: messages, options and their values. */
export function checkGenerateRequest(request: unknown): void {
  if (!isRecord(request)) usageError(`generate() needs a request object with messages, got ${describeValue(request)}`);
  checkRequestKeys(request);
  checkMessages(request.messages);
  checkDecodeOptions(request);
  checkImageOptions(request.image);
  checkVideoOptions(request.video);
  if (request.imageSource !== undefined && !isRecord(request.imageSource)) usageError(`imageSource must be an object, got ${describeValue(request.imageSource)}`);
}

/** Every field of GenerateRequest (types.ts). */
const REQUEST_KEYS: ReadonlySet<string> = new Set(['messages', 'maxNewTokens', 'sampling', 'stop', 'image', 'video', 'imageSource', 'signal', 'cache', 'onToken', 'format']);

/**
 * Unknown fields are refused: a misplaced setting (`temperature` beside `messages` instead of inside
 * `sampling`) would otherwise be ignored without a word, and the answer silently greedy.
 */
function checkRequestKeys(request: UntypedRecord): void {
  for (const key of Object.keys(request)) {
    if (REQUEST_KEYS.has(key) || request[key] === undefined) continue;
    if ((SAMPLING_KEYS as readonly string[]).includes(key)) usageError(`${key} belongs in sampling: generate({ messages, sampling: { ${key}: … } })`);
    usageError(`unknown request field ${JSON.stringify(key)} (known: ${[...REQUEST_KEYS].join(', ')})`);
  }
}

/** Throws unless `messages` is a non-empty array of chat messages with known roles and valid parts. */
export function checkMessages(messages: unknown, label = 'messages'): void {
  if (!Array.isArray(messages) || messages.length === 0) usageError(`${label} must be a non-empty array of chat messages, got ${describeValue(messages)}`);
  messages.forEach((message: unknown, i) => checkMessage(message, `${label}[${i}]`));
}

function checkMessage(message: unknown, label: string): void {
  if (!isRecord(message)) usageError(`${label} must be an object with role and content, got ${describeValue(message)}`);
  if (!ROLES.some((role) => role === message.role)) usageError(`${label}.role must be ${ROLES.map((r) => `"${r}"`).join(', ')}, got ${describeValue(message.role)}`);
  const { content } = message;
  if (typeof content === 'string') return;
  if (!Array.isArray(content)) usageError(`${label}.content must be a string or an array of parts, got ${describeValue(content)}`);
  content.forEach((part: unknown, i) => checkPart(part, `${label}.content[${i}]`));
}

function checkPart(part: unknown, label: string): void {
  if (!isRecord(part)) usageError(`${label} must be a part object ({ type: 'text', text }, { type: 'image', image } or { type: 'video', video }), got ${describeValue(part)}`);
  if (part.type === 'text') {
    if (typeof part.text !== 'string') usageError(`${label}.text must be a string, got ${describeValue(part.text)}`);
  } else if (part.type === 'image') {
    const { image } = part;
    if (!(typeof image === 'string' && image !== '') && !(image instanceof Uint8Array) && !isPreparedImage(image)) {
      usageError(`${label}.image must be ${IMAGE_INPUT_RULE}, got ${describeValue(image)}`);
    }
  } else if (part.type === 'video') {
    const { video } = part;
    if (!(typeof video === 'string' && video !== '') && !(video instanceof Uint8Array) && !isPreparedVideo(video)) {
      usageError(`${label}.video must be ${VIDEO_INPUT_RULE}, got ${describeValue(video)}`);
    }
  } else {
    usageError(`${label}.type must be "text", "image" or "video", got ${describeValue(part.type)}`);
  }
}

/** Throws unless the decoding options (maxNewTokens, sampling, stop, signal, cache, onToken, format) are valid. */
export function checkDecodeOptions(options: UntypedRecord): void {
  if (options.maxNewTokens !== undefined) checkSetting(settingSpec('maxTokens'), options.maxNewTokens, 'maxNewTokens');
  if (options.sampling !== undefined) {
    if (!isRecord(options.sampling)) usageError(`sampling must be an object, got ${describeValue(options.sampling)}`);
    validateSampling(options.sampling, 'sampling.');
  }
  if (options.stop !== undefined) checkSetting(settingSpec('stop'), options.stop, 'stop');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) usageError(`signal must be an AbortSignal, got ${describeValue(options.signal)}`);
  if (options.cache !== undefined && !(options.cache instanceof PromptCache)) usageError(`cache must be a PromptCache, got ${describeValue(options.cache)}`);
  if (options.onToken !== undefined && typeof options.onToken !== 'function') usageError(`onToken must be a function, got ${describeValue(options.onToken)}`);
  if (options.format !== undefined) checkFormat(options.format, options.stop);
}

/**
 * Throws unless `format` is 'json' or { schema } with a schema the engine enforces. Stop strings are
 * refused beside it: one cutting the document short would leave JSON that never parses.
 */
export function checkFormat(format: unknown, stop: unknown): void {
  checkOutputFormat(format);
  if (Array.isArray(stop) && stop.length > 0) usageError('stop strings cannot be used with a format (structured output ends when its JSON document is complete)');
}

/** Throws unless `image` is undefined or valid ImageOptions (the model's own bound on longestEdge is checked when tiling). */
export function checkImageOptions(image: unknown): void {
  if (image === undefined) return;
  if (!isRecord(image)) usageError(`image must be an object, got ${describeValue(image)}`);
  if (image.doImageSplitting !== undefined) checkSetting(settingSpec('split'), image.doImageSplitting, 'image.doImageSplitting');
  if (image.longestEdge !== undefined) checkSetting(settingSpec('imageSize'), image.longestEdge, 'image.longestEdge');
  const { maxPixels } = image;
  if (maxPixels !== undefined && !(typeof maxPixels === 'number' && Number.isSafeInteger(maxPixels) && maxPixels >= 1)) {
    usageError(`image.maxPixels must be an integer >= 1, got ${describeValue(maxPixels)}`);
  }
}

/** Throws unless `video` is undefined or valid VideoOptions (fps and max frames by the settings table's rules). */
export function checkVideoOptions(video: unknown): void {
  if (video === undefined) return;
  if (!isRecord(video)) usageError(`video must be an object, got ${describeValue(video)}`);
  if (video.fps !== undefined) checkSetting(settingSpec('fps'), video.fps, 'video.fps');
  if (video.maxFrames !== undefined) checkSetting(settingSpec('maxFrames'), video.maxFrames, 'video.maxFrames');
  if (video.fit !== undefined && typeof video.fit !== 'boolean') usageError(`video.fit must be true or false, got ${describeValue(video.fit)}`);
  if (video.onProgress !== undefined && typeof video.onProgress !== 'function') usageError(`video.onProgress must be a function, got ${describeValue(video.onProgress)}`);
}

/** Throws unless the arguments of generateFromIds are token ids, optional pixel values and a tile count. */
export function checkIdsRequest(ids: unknown, pixelValues: unknown, tileCount: unknown, options: unknown): void {
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id: unknown) => typeof id === 'number' && Number.isSafeInteger(id) && id >= 0)) {
    usageError(`ids must be a non-empty array of token ids (integers >= 0), got ${describeValue(ids)}`);
  }
  if (pixelValues !== undefined && !(pixelValues instanceof Float32Array)) usageError(`pixelValues must be a Float32Array, got ${describeValue(pixelValues)}`);
  if (!(typeof tileCount === 'number' && Number.isSafeInteger(tileCount) && tileCount >= 0)) usageError(`tileCount must be an integer >= 0, got ${describeValue(tileCount)}`);
  if (!isRecord(options)) usageError(`options must be an object, got ${describeValue(options)}`);
  checkDecodeOptions(options);
}

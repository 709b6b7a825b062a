/**
 * The option groups commands add one by one: output (--json, --verbose, --quiet, --no-color), model
 * (--model, --dtype, --threads, --offline), generation (one flag per row of the settings table, plus
 * --system), image (--split/--no-split, --image-size) and video (--fps, --max-frames, --fit,
 * --frame-resize). Values are checked while commander parses,
 * so a bad value is a usage error naming the flag. Also the translation of parsed groups into the
 * core's LoadOptions and GenerateRequest parts.
 */
import { InvalidArgumentError, Option, type Command, type CommandUnknownOpts, type OptionValues } from '@commander-js/extra-typings';
import {
  DEFAULT_MODEL,
  SETTINGS,
  VIDEO_RESIZE_MODES,
  isSmolVLMError,
  parseDtypeSpec,
  parseSettingText,
  settingSpec,
  type ChatMessage,
  type DtypeSpec,
  type GenerateRequest,
  type GenerationSettings,
  type LoadOptions,
  type SamplingOptions,
  type SettingKey,
  type SettingSpec,
  type VideoOptions as CoreVideoOptions,
  type VideoResize,
} from '../index.js';

/** The model used when neither --model nor SMOLVLM_MODEL says otherwise. */
export { DEFAULT_MODEL };
export const MODEL_ENV = 'SMOLVLM_MODEL';

/** What the output group parses to (type aliases, so that they fit commander's OptionValues). */
export type OutputOptions = {
  json?: true;
  verbose?: true;
  quiet?: true;
  /** false with --no-color. */
  color: boolean;
};

export type ModelOptions = {
  model: string;
  dtype?: DtypeSpec;
  threads?: number;
  offline?: true;
};

/** The image settings of the table: their own group. */
const IMAGE_KEYS = ['split', 'imageSize'] as const satisfies readonly SettingKey[];
type ImageKey = (typeof IMAGE_KEYS)[number];

export type ImageOptions = Pick<GenerationSettings, ImageKey>;

/** The video settings of the table: with --fit and --frame-resize, their own group. */
const VIDEO_KEYS = ['fps', 'maxFrames'] as const satisfies readonly SettingKey[];
type VideoKey = (typeof VIDEO_KEYS)[number];

export type VideoOptions = Pick<GenerationSettings, VideoKey> & {
  fit?: true;
  frameResize?: VideoResize;
};

/** Every other setting of the table (max tokens has a default, so it is always set), and the system message. */
export type GenerationOptions = Omit<GenerationSettings, ImageKey | VideoKey | 'maxTokens'> & {
  maxTokens: number;
  system?: string;
};

/** A set of options a command adds as one. */
export interface OptionGroup<Values extends OptionValues> {
  add(command: CommandUnknownOpts): void;
  /** Never set: carries the type of the group's values to withOptions(). */
  readonly values?: Values;
}

/** The intersection of the members of a union (`A | B` to `A & B`). */
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
type ValuesOf<Groups extends readonly OptionGroup<OptionValues>[]> = Intersection<
  { [K in keyof Groups]: Groups[K] extends OptionGroup<infer V> ? V : never }[number]
>;

/**
 * Adds option groups to a command (after its own options, so that those stay on top of the help);
 * the action's options are then typed `own options & the groups' values`.
 */
export function withOptions<A extends unknown[], O extends OptionValues, G extends OptionValues, Groups extends readonly OptionGroup<OptionValues>[]>(
  command: Command<A, O, G>,
  ...groups: Groups
): Command<A, O & ValuesOf<Groups>, G> {
  const untyped = command as unknown as CommandUnknownOpts;
  for (const group of groups) group.add(untyped);
  // Options added later (and --help) are listed under the command's own heading.
  untyped.optionsGroup('Options:');
  // The result type is declared rather than inferred through twenty addOption() calls: that
  // inference costs minutes of type-checking.
  return command as unknown as Command<A, O & ValuesOf<Groups>, G>;
}

function group<Values extends OptionValues>(heading: string, options: () => Option[]): OptionGroup<Values> {
  return {
    add(command) {
      command.optionsGroup(heading);
      for (const option of options()) command.addOption(option);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Value parsers: each throws InvalidArgumentError, which commander reports naming the flag.

export function positiveInteger(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('Not a number.');
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('Not an integer.');
  if (n < 1) throw new InvalidArgumentError('Must be an integer >= 1.');
  return n;
}

/** A number > 0 (seconds, say), fractions allowed. */
export function positiveNumber(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('Not a number.');
  if (n <= 0) throw new InvalidArgumentError('Must be a number > 0.');
  return n;
}

/** A text value that is not empty (or only spaces). */
export function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('Must not be empty.');
  return value;
}

export function dtype(value: string): DtypeSpec {
  try {
    return parseDtypeSpec(value.trim());
  } catch (error) {
    if (isSmolVLMError(error)) throw new InvalidArgumentError(`${error.message}.`);
    throw error;
  }
}

/** The table's parser for one setting, reporting a bad value the way commander names the flag. */
export function settingParser(key: SettingKey): (value: string) => GenerationSettings[SettingKey] {
  const spec = settingSpec(key);
  return (value) => {
    try {
      return parseSettingText(spec, value);
    } catch (error) {
      if (isSmolVLMError(error)) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };
}

// The parsers chat's `/set` used before it read the settings table itself.
export const temperature = settingParser('temperature');
export const nonNegativeInteger = settingParser('topK');
export const topP = settingParser('topP');
export const minP = settingParser('minP');
export const repetitionPenalty = settingParser('repetitionPenalty');
export const seed = settingParser('seed');

// ---------------------------------------------------------------------------------------------
// The groups

/** The model reference when --model is absent: $SMOLVLM_MODEL, else DEFAULT_MODEL. */
export function defaultModel(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[MODEL_ENV]?.trim();
  return fromEnv ? fromEnv : DEFAULT_MODEL;
}

const MODEL_HEADING = 'Model and sampling options:';

export const modelOptions = group<ModelOptions>(MODEL_HEADING, () => [
  new Option('-m, --model <model>', `model directory, Hub repo id (org/name[@revision]) or alias (256m, 500m, 2.2b); $${MODEL_ENV} sets the default`).default(
    defaultModel(),
    `$${MODEL_ENV} or ${DEFAULT_MODEL}`,
  ),
  new Option('--dtype <dtype>', 'ONNX variant: fp32, fp16, int8, uint8, q8, q4, q4f16, bnb4, or per session (vision=fp32,decoder=q4)').argParser(dtype),
  new Option('--threads <n>', 'CPU threads per ONNX session (default: all cores)').argParser(positiveInteger),
  new Option('--offline', 'use the Hugging Face cache only, no network (also HF_HUB_OFFLINE=1)'),
]);

/**
 * A setting's flag, built from its row of the table: `-t, --temperature <t>`, its help and, for a
 * plain-number default such as --max-tokens' 512, commander's `(default: 512)`.
 */
export function settingOption(spec: SettingSpec): Option {
  const long = spec.valueName === '' ? spec.flag : `${spec.flag} ${spec.valueName}`;
  const option = new Option(spec.short ? `${spec.short}, ${long}` : long, `${spec.help}${defaultHelp(spec)}`);
  if (spec.kind === 'boolean') return option;
  const parse = settingParser(spec.key);
  if (spec.kind === 'strings') {
    // Repeated flags add up.
    return option.argParser((value, previous: string[] | undefined) => [...(previous ?? []), ...(parse(value) as string[])]);
  }
  option.argParser(parse as (value: string) => number);
  return /^\d+(\.\d+)?$/.test(spec.defaultText) ? option.default(Number(spec.defaultText)) : option;
}

/**
 * What the flag's help says about the default: a value such as `1 (off)` as ` (default 1 = off)`
 * (just ` (default 0)` when the help already explains `0 = greedy`), a flag without a value as
 * ` (the model's default)`; nothing for defaults that are no value (`random`, `none`).
 */
function defaultHelp(spec: SettingSpec): string {
  if (spec.kind === 'boolean') return ` (${spec.defaultText})`;
  const match = /^(\d[\d.]*)(?: \((.+)\))?(.*)$/.exec(spec.defaultText);
  if (!match || /^\d+(\.\d+)?$/.test(spec.defaultText)) return '';
  const [, value, gloss, rest] = match;
  if (gloss === undefined) return ` (default ${value}${rest})`;
  return spec.help.includes(`${value} = ${gloss}`) ? ` (default ${value})` : ` (default ${value} = ${gloss})`;
}

const GROUPED_KEYS: readonly SettingKey[] = [...IMAGE_KEYS, ...VIDEO_KEYS];

export const generationOptions = group<GenerationOptions>(MODEL_HEADING, () => [
  ...SETTINGS.filter((spec) => !GROUPED_KEYS.includes(spec.key)).map(settingOption),
  // Not a generation setting: the system message is part of the conversation.
  new Option('-s, --system <text>', 'system message').argParser(nonEmpty),
]);

export const imageOptions = group<ImageOptions>(MODEL_HEADING, () => [
  settingOption(settingSpec('split')),
  new Option('--no-split', 'one tile per image: fewer tokens, less detail'),
  settingOption(settingSpec('imageSize')),
]);

export function videoResize(value: string): VideoResize {
  const mode = VIDEO_RESIZE_MODES.find((m) => m === value.trim().toLowerCase());
  if (!mode) throw new InvalidArgumentError(`Must be ${VIDEO_RESIZE_MODES.join(', ')}.`);
  return mode;
}

/** The video group; chat leaves out --fit (a conversation refuses a clip that does not fit, naming max_frames). */
export function videoOptions(include: { fit?: boolean } = {}): OptionGroup<VideoOptions> {
  return group<VideoOptions>('Video options:', () => [
    settingOption(settingSpec('fps')),
    settingOption(settingSpec('maxFrames')),
    ...(include.fit === false ? [] : [new Option('--fit', 'sample fewer frames when a clip would not fit the context (it is refused otherwise)')]),
    new Option('--frame-resize <mode>', `how frames are resized: ${VIDEO_RESIZE_MODES.join(', ')} (default model: as the model was released)`).argParser(videoResize),
  ]);
}
/** What --format and --schema parse to (the schema is read and checked by readOutputFormat). */
export type FormatOptions = {
  format?: 'json';
  schema?: string;
};

function jsonOnly(value: string): 'json' {
  if (value.trim() !== 'json') throw new InvalidArgumentError('The only format is "json" (use --schema for a JSON Schema).');
  return 'json';
}

/** Structured output: the answer constrained to JSON, or to a JSON Schema. */
export const formatOptions = group<FormatOptions>('Structured output:', () => [
  new Option('--format <json>', 'answer with a JSON object (constrained token by token, so it always parses when complete)').argParser(jsonOnly),
  new Option('--schema <file|json>', 'answer with JSON valid against this JSON Schema: a file, or the schema inline'),
]);

/** The output group; a command may say what its --json, --verbose and --quiet mean for it. */
export function outputOptions(help: { json?: string; verbose?: string; quiet?: string } = {}): OptionGroup<OutputOptions> {
  return group<OutputOptions>('Output options:', () => [
    new Option('--json', help.json ?? 'one JSON object per answer on stdout; errors as JSON on stderr'),
    new Option('-v, --verbose', help.verbose ?? 'stats line on stderr (load, tiles, tokens, speeds); stack traces'),
    new Option('--quiet', help.quiet ?? 'no spinner, headers or warnings on stderr'),
    new Option('--no-color', 'no colours (NO_COLOR is honoured too)'),
  ]);
}

// ---------------------------------------------------------------------------------------------
// From parsed groups to the core's options

/** LoadOptions from the parsed options (--frame-resize is how the model prepares frames). */
export function loadOptions(options: ModelOptions & Pick<VideoOptions, 'frameResize'>): LoadOptions {
  return {
    ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.frameResize !== undefined ? { videoResize: options.frameResize } : {}),
  };
}

/** The video flags as the core takes them (undefined means the model's default). */
export function videoRequestOptions(options: VideoOptions): CoreVideoOptions {
  return {
    ...(options.fps !== undefined ? { fps: options.fps } : {}),
    ...(options.maxFrames !== undefined ? { maxFrames: options.maxFrames } : {}),
    ...(options.fit ? { fit: true } : {}),
  };
}

/** The sampling flags as the core takes them (undefined means the default). */
export function samplingOptions(options: GenerationOptions): SamplingOptions {
  const { temperature, topK, topP, minP, repetitionPenalty, seed } = options;
  return { temperature, topK, topP, minP, repetitionPenalty, seed };
}

/** Every setting of the table as parsed (undefined means the default): chat's conversation settings. */
export function generationSettings(options: GenerationOptions & ImageOptions & Partial<VideoOptions>): GenerationSettings {
  const settings: Record<string, unknown> = {};
  for (const spec of SETTINGS) settings[spec.key] = options[spec.key];
  return settings as GenerationSettings;
}

/** The request parts every one-shot command shares (messages, signal and stdin are the command's). */
export function requestOptions(options: GenerationOptions & ImageOptions & VideoOptions, defaults: { split?: boolean } = {}): Omit<GenerateRequest, 'messages'> {
  const split = options.split ?? defaults.split;
  return {
    maxNewTokens: options.maxTokens,
    sampling: samplingOptions(options),
    stop: options.stop,
    image: { doImageSplitting: split, longestEdge: options.imageSize },
    video: videoRequestOptions(options),
  };
}

/** A user message with the images first, then the text (SmolVLM's usual layout); the system message first when given. */
export function buildMessages(options: Pick<GenerationOptions, 'system'>, images: readonly string[], text: string): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (options.system !== undefined) messages.push({ role: 'system', content: [{ type: 'text', text: options.system }] });
  messages.push({
    role: 'user',
    content: [...images.map((image) => ({ type: 'image' as const, image })), { type: 'text' as const, text }],
  });
  return messages;
}

/** The groups of the commands that answer about images and videos (describe, ask, story), in help order. */
export function answerOptionGroups() {
  return [modelOptions, generationOptions, imageOptions, videoOptions(), formatOptions, outputOptions()] as const;
}

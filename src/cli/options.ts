/**
 * The option group every command shares, validated while commander parses (a bad value is a usage
 * error naming the flag), and its translation into the core's LoadOptions and GenerateRequest parts.
 */
import { InvalidArgumentError, Option, type Command, type CommandUnknownOpts, type OptionValues } from '@commander-js/extra-typings';
import { DEFAULT_MODEL, isSmolVLMError, parseDtypeSpec, type ChatMessage, type DtypeSpec, type GenerateRequest, type LoadOptions, type SamplingOptions } from '../index.js';

/** The model used when neither --model nor SMOLVLM_MODEL says otherwise. */
export { DEFAULT_MODEL };
export const MODEL_ENV = 'SMOLVLM_MODEL';
export const DEFAULT_MAX_TOKENS = 512;

/** What the shared option group parses to (a type alias, so that it fits commander's OptionValues). */
export type CommonOptions = {
  model: string;
  dtype?: DtypeSpec;
  maxTokens: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  seed?: number;
  stop?: string[];
  system?: string;
  /** undefined: the model's (or the command's) default. */
  split?: boolean;
  imageSize?: number;
  threads?: number;
  offline?: true;
  json?: true;
  verbose?: true;
  quiet?: true;
  color: boolean;
};

// ---------------------------------------------------------------------------------------------
// Value parsers: each throws InvalidArgumentError, which commander reports naming the flag.

function parseNumber(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('Not a number.');
  return n;
}

function parseInteger(value: string): number {
  const n = parseNumber(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('Not an integer.');
  return n;
}

export function positiveInteger(value: string): number {
  const n = parseInteger(value);
  if (n < 1) throw new InvalidArgumentError('Must be an integer >= 1.');
  return n;
}

export function nonNegativeInteger(value: string): number {
  const n = parseInteger(value);
  if (n < 0) throw new InvalidArgumentError('Must be an integer >= 0.');
  return n;
}

export function temperature(value: string): number {
  const n = parseNumber(value);
  if (n < 0) throw new InvalidArgumentError('Must be a number >= 0 (0 = greedy).');
  return n;
}

export function topP(value: string): number {
  const n = parseNumber(value);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError('Must be in (0, 1].');
  return n;
}

export function minP(value: string): number {
  const n = parseNumber(value);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('Must be in [0, 1).');
  return n;
}

export function repetitionPenalty(value: string): number {
  const n = parseNumber(value);
  if (!(n > 0)) throw new InvalidArgumentError('Must be a number > 0 (1 = off).');
  return n;
}

export function seed(value: string): number {
  return parseInteger(value);
}

export function dtype(value: string): DtypeSpec {
  try {
    return parseDtypeSpec(value.trim());
  } catch (error) {
    if (isSmolVLMError(error)) throw new InvalidArgumentError(`${error.message}.`);
    throw error;
  }
}

/** A text value that is not empty (or only spaces). */
export function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('Must not be empty.');
  return value;
}

function collect(value: string, previous: string[] | undefined): string[] | undefined {
  return [...(previous ?? []), nonEmpty(value)];
}

/** The model reference when --model is absent: $SMOLVLM_MODEL, else DEFAULT_MODEL. */
export function defaultModel(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[MODEL_ENV]?.trim();
  return fromEnv ? fromEnv : DEFAULT_MODEL;
}

/**
 * Adds the shared options to a command (call it after the command's own options so that those stay
 * on top of the help); the action's options are then typed `own options & CommonOptions`.
 */
export function withCommonOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(
  command: Command<A, O, G>,
): Command<A, O & CommonOptions, G> {
  // The result type is declared rather than inferred through twenty addOption() calls: that
  // inference costs minutes of type-checking.
  addCommonOptions(command as unknown as CommandUnknownOpts);
  return command as unknown as Command<A, O & CommonOptions, G>;
}

function addCommonOptions(command: CommandUnknownOpts): void {
  command
    .optionsGroup('Model and sampling options:')
    .addOption(
      new Option('-m, --model <model>', `model directory, Hub repo id (org/name[@revision]) or alias (256m, 500m, 2.2b); $${MODEL_ENV} sets the default`)
        .default(defaultModel(), `$${MODEL_ENV} or ${DEFAULT_MODEL}`),
    )
    .addOption(new Option('--dtype <dtype>', 'ONNX variant: fp32, fp16, int8, uint8, q8, q4, q4f16, bnb4, or per session (vision=fp32,decoder=q4)').argParser(dtype))
    .addOption(new Option('-n, --max-tokens <n>', 'most tokens to generate').argParser(positiveInteger).default(DEFAULT_MAX_TOKENS))
    .addOption(new Option('-t, --temperature <t>', 'sampling temperature; 0 = greedy (default 0)').argParser(temperature))
    .addOption(new Option('--top-k <k>', 'keep the k most likely tokens; 0 = off (default 50 when sampling)').argParser(nonNegativeInteger))
    .addOption(new Option('--top-p <p>', 'nucleus sampling, in (0, 1] (default 1 = off)').argParser(topP))
    .addOption(new Option('--min-p <p>', 'drop tokens below p x the top probability, in [0, 1) (default 0 = off)').argParser(minP))
    .addOption(new Option('--repetition-penalty <x>', 'penalise tokens already seen, > 0 (default 1 = off)').argParser(repetitionPenalty))
    .addOption(new Option('--seed <n>', 'seed for sampling: the same seed gives the same answer').argParser(seed))
    .addOption(new Option('--stop <text>', 'stop when the answer contains <text> (repeatable)').argParser(collect))
    .addOption(new Option('-s, --system <text>', 'system message').argParser(nonEmpty))
    .addOption(new Option('--split', 'split images into tiles plus a global view (the model default)'))
    .addOption(new Option('--no-split', 'one tile per image: fewer tokens, less detail'))
    .addOption(new Option('--image-size <px>', "resize each image's longest edge to <px> before tiling").argParser(positiveInteger))
    .addOption(new Option('--threads <n>', 'CPU threads per ONNX session (default: all cores)').argParser(positiveInteger))
    .addOption(new Option('--offline', 'use the Hugging Face cache only, no network (also HF_HUB_OFFLINE=1)'))
    .optionsGroup('Output options:')
    .addOption(new Option('--json', 'one JSON object per answer on stdout; errors as JSON on stderr'))
    .addOption(new Option('-v, --verbose', 'stats line on stderr (load, tiles, tokens, speeds); stack traces'))
    .addOption(new Option('--quiet', 'no spinner, headers or warnings on stderr'))
    .addOption(new Option('--no-color', 'no colours (NO_COLOR is honoured too)'))
    .optionsGroup('Options:');
}

/** LoadOptions from the parsed options. */
export function loadOptions(options: CommonOptions): LoadOptions {
  return {
    ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
  };
}

/** The sampling flags as the core takes them (undefined means the default). */
export function samplingOptions(options: CommonOptions): SamplingOptions {
  const { temperature, topK, topP, minP, repetitionPenalty, seed } = options;
  return { temperature, topK, topP, minP, repetitionPenalty, seed };
}

/** The request parts every command shares (messages, signal and stdin are the command's). */
export function requestOptions(options: CommonOptions, defaults: { split?: boolean } = {}): Omit<GenerateRequest, 'messages'> {
  const split = options.split ?? defaults.split;
  return {
    maxNewTokens: options.maxTokens,
    sampling: samplingOptions(options),
    stop: options.stop,
    image: { doImageSplitting: split, longestEdge: options.imageSize },
  };
}

/** A user message with the images first, then the text (SmolVLM's usual layout); the system message first when given. */
export function buildMessages(options: Pick<CommonOptions, 'system'>, images: readonly string[], text: string): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (options.system !== undefined) messages.push({ role: 'system', content: [{ type: 'text', text: options.system }] });
  messages.push({
    role: 'user',
    content: [...images.map((image) => ({ type: 'image' as const, image })), { type: 'text' as const, text }],
  });
  return messages;
}

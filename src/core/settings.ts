/**
 * The one table of generation settings. Every place that names, parses, validates or shows a
 * generation setting derives from it: the library's request validation, the CLI flags, chat's
 * `/set` and `/show`, transcripts, and the server's request fields. Adding a setting is one row
 * here plus its use where the setting acts (the sampler, the decode loop, the image processor).
 */
import { SmolVLMError } from './errors.js';

/** Every generation setting, by its library (camelCase) name. undefined means the default. */
export interface GenerationSettings {
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Keep the k most likely tokens (0 = off). Default 50 when sampling, as in transformers. */
  topK?: number;
  /** Nucleus sampling: smallest set with cumulative probability >= topP (1 = off). */
  topP?: number;
  /** Drop tokens whose probability is below minP x the top probability (0 = off). */
  minP?: number;
  /** transformers' repetition penalty over prompt and generated ids (1 = off). */
  repetitionPenalty?: number;
  /** Seed of the sampler's random numbers: the same seed gives the same answer. */
  seed?: number;
  /** Most new tokens per answer. */
  maxTokens?: number;
  /** Stop when the answer contains one of these (non-empty) strings. */
  stop?: string[];
  /** Split images into tiles plus a global view (undefined: the model's default). */
  split?: boolean;
  /** Resize each image's longest edge to this before tiling (undefined: the model's default). */
  imageSize?: number;
  /** Video frames sampled per second of clip (undefined: the model's `video_sampling.fps`). */
  fps?: number;
  /** Most frames sampled from a video (undefined: the model's `video_sampling.max_frames`). */
  maxFrames?: number;
}

export type SettingKey = keyof GenerationSettings;
export type SettingKind = 'number' | 'integer' | 'boolean' | 'strings';

/** A closed or open bound on a number. */
interface Bound {
  value: number;
  inclusive: boolean;
}

export interface SettingSpec {
  /** The library's name (GenerateRequest, Conversation settings). */
  readonly key: SettingKey;
  /** snake_case: `/set`, transcripts, the server's request fields. */
  readonly name: string;
  /** The long command-line flag, e.g. `--top-k`. */
  readonly flag: string;
  /** A short flag, e.g. `-t`. */
  readonly short?: string;
  /** The flag's value placeholder, e.g. `<k>`. */
  readonly valueName: string;
  readonly kind: SettingKind;
  readonly min?: Bound;
  readonly max?: Bound;
  /** The allowed values in words, completing "must be …" (e.g. "a number in (0, 1]"). */
  readonly rule: string;
  /** What an unset value means, in words (help, `/show`). */
  readonly defaultText: string;
  /** One line of help (the CLI flag's description, `/set` listings, the server docs). */
  readonly help: string;
}

const closed = (value: number): Bound => ({ value, inclusive: true });
const open = (value: number): Bound => ({ value, inclusive: false });

export const SETTINGS: readonly SettingSpec[] = [
  { key: 'temperature', name: 'temperature', flag: '--temperature', short: '-t', valueName: '<t>', kind: 'number', min: closed(0), rule: 'a number >= 0 (0 = greedy)', defaultText: '0 (greedy)', help: 'sampling temperature; 0 = greedy' },
  { key: 'topK', name: 'top_k', flag: '--top-k', valueName: '<k>', kind: 'integer', min: closed(0), rule: 'an integer >= 0 (0 = off)', defaultText: '50 when sampling', help: 'keep the k most likely tokens; 0 = off' },
  { key: 'topP', name: 'top_p', flag: '--top-p', valueName: '<p>', kind: 'number', min: open(0), max: closed(1), rule: 'in (0, 1]', defaultText: '1 (off)', help: 'nucleus sampling, in (0, 1]' },
  { key: 'minP', name: 'min_p', flag: '--min-p', valueName: '<p>', kind: 'number', min: closed(0), max: open(1), rule: 'in [0, 1)', defaultText: '0 (off)', help: 'drop tokens below p x the top probability, in [0, 1)' },
  { key: 'repetitionPenalty', name: 'repetition_penalty', flag: '--repetition-penalty', valueName: '<x>', kind: 'number', min: open(0), rule: 'a number > 0 (1 = off)', defaultText: '1 (off)', help: 'penalise tokens already seen, > 0' },
  { key: 'seed', name: 'seed', flag: '--seed', valueName: '<n>', kind: 'integer', rule: 'an integer', defaultText: 'random', help: 'seed for sampling: the same seed gives the same answer' },
  { key: 'maxTokens', name: 'max_tokens', flag: '--max-tokens', short: '-n', valueName: '<n>', kind: 'integer', min: closed(1), rule: 'an integer >= 1', defaultText: '512', help: 'most tokens to generate' },
  { key: 'stop', name: 'stop', flag: '--stop', valueName: '<text>', kind: 'strings', rule: 'a list of non-empty strings', defaultText: 'none', help: 'stop when the answer contains <text> (repeatable)' },
  { key: 'split', name: 'split', flag: '--split', valueName: '', kind: 'boolean', rule: 'true or false (on or off)', defaultText: "the model's default", help: 'split images into tiles plus a global view' },
  { key: 'imageSize', name: 'image_size', flag: '--image-size', valueName: '<px>', kind: 'integer', min: closed(1), rule: 'an integer >= 1 (pixels)', defaultText: "the model's default", help: "resize each image's longest edge to <px> before tiling" },
  { key: 'fps', name: 'fps', flag: '--fps', valueName: '<n>', kind: 'number', min: open(0), rule: 'a number > 0 (frames per second)', defaultText: "the model's default", help: 'video frames to sample per second of clip' },
  { key: 'maxFrames', name: 'max_frames', flag: '--max-frames', valueName: '<n>', kind: 'integer', min: closed(1), rule: 'an integer >= 1', defaultText: "the model's default", help: 'most frames to sample from a video' },
];

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]));
const BY_NAME = new Map(SETTINGS.map((s) => [s.name, s]));

export function settingSpec(key: SettingKey): SettingSpec {
  const spec = BY_KEY.get(key);
  if (!spec) throw new Error(`no setting ${key}`);
  return spec;
}

/** The setting named `name` in snake_case, kebab-case or camelCase (case-insensitive); undefined if none. */
export function findSetting(name: string): SettingSpec | undefined {
  const snake = name
    .replace(/^-+/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
  return BY_NAME.get(snake);
}

function inBounds(spec: SettingSpec, n: number): boolean {
  const { min, max } = spec;
  if (min && (min.inclusive ? n < min.value : n <= min.value)) return false;
  if (max && (max.inclusive ? n > max.value : n >= max.value)) return false;
  return true;
}

/** Why `value` is not valid for `spec`, as words completing "must be …"; undefined when valid. */
export function settingProblem(spec: SettingSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : spec.rule;
    case 'strings':
      return Array.isArray(value) && value.every((s) => typeof s === 'string' && s !== '') ? undefined : spec.rule;
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value) && inBounds(spec, value) ? undefined : spec.rule;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && inBounds(spec, value) ? undefined : spec.rule;
  }
}

/** Throws a USAGE SmolVLMError naming the setting (`label` defaults to its snake_case name) when invalid. */
export function checkSetting(spec: SettingSpec, value: unknown, label: string = spec.name): void {
  const problem = settingProblem(spec, value);
  if (problem !== undefined) throw new SmolVLMError('USAGE', `${label} must be ${problem}`);
}

/**
 * Checks every known key present in `settings` (undefined values mean the default and pass).
 * Used at the library's edge, by Conversation and for transcripts: the same rules as the CLI's flags.
 */
export function validateSettings(settings: Readonly<Record<string, unknown>>, labelOf: (spec: SettingSpec) => string = (s) => s.name): void {
  for (const spec of SETTINGS) {
    const value = settings[spec.key];
    if (value !== undefined) checkSetting(spec, value, labelOf(spec));
  }
}

const TRUE_WORDS = new Set(['on', 'true', 'yes', '1']);
const FALSE_WORDS = new Set(['off', 'false', 'no', '0']);

/**
 * Parses one typed value (a CLI flag's argument, a `/set` value). A `strings` setting parses to a
 * one-element list (repeated flags add up). Throws a USAGE SmolVLMError whose message is a sentence
 * ("Not a number.", "Must be in (0, 1].") for the caller to prefix with the flag or setting name.
 */
export function parseSettingText(spec: SettingSpec, text: string): GenerationSettings[SettingKey] {
  const fail = (message: string): never => {
    throw new SmolVLMError('USAGE', message);
  };
  switch (spec.kind) {
    case 'boolean': {
      const word = text.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      return fail('Must be on or off.');
    }
    case 'strings':
      return text === '' ? fail('Must not be empty.') : [text];
    case 'integer':
    case 'number': {
      const n = text.trim() === '' ? NaN : Number(text);
      if (!Number.isFinite(n)) return fail('Not a number.');
      if (spec.kind === 'integer' && !Number.isSafeInteger(n)) return fail('Not an integer.');
      if (!inBounds(spec, n)) return fail(`Must be ${spec.rule}.`);
      return n;
    }
  }
}

/** The snake_case form of settings (transcripts, the server), only the keys that are set. */
export function settingsToSnakeCase(settings: Readonly<GenerationSettings>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of SETTINGS) {
    const value = settings[spec.key];
    if (value !== undefined) out[spec.name] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}

/**
 * Reads snake_case settings from untyped JSON (a transcript, a server request): validates each
 * known field and returns them by library key. Unknown fields are left to the caller.
 */
export function settingsFromSnakeCase(source: Readonly<Record<string, unknown>>, context: string): GenerationSettings {
  const out: Record<string, unknown> = {};
  for (const spec of SETTINGS) {
    const value = source[spec.name];
    if (value === undefined || value === null) continue;
    checkSetting(spec, value, context ? `${context}.${spec.name}` : spec.name);
    out[spec.key] = value;
  }
  return out as GenerationSettings;
}

/** True when `key` is a library (camelCase) setting name. */
export function isSettingKey(key: string): key is SettingKey {
  return BY_KEY.has(key as SettingKey);
}

/** `repetitionPenalty` -> `repetition_penalty`: the rule the table's `name` column follows. */
type SnakeCase<S extends string> = S extends `${infer C}${infer Rest}` ? `${C extends Lowercase<C> ? C : `_${Lowercase<C>}`}${SnakeCase<Rest>}` : S;

/** Settings by their snake_case names: transcripts, the server's request fields (see settingsToSnakeCase). */
export type SnakeCaseSettings = { [K in SettingKey as SnakeCase<K>]?: GenerationSettings[K] };

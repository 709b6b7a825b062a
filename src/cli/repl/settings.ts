/**
 * `/set <param> <value>` and how `/show` prints a setting, derived from the library's settings table:
 * the same names as transcripts, the same rules and messages as the command-line flags.
 */
import {
  SETTINGS as ALL_SETTINGS,
  findSetting as findAnySetting,
  isSmolVLMError,
  parseSettingText,
  readSchemaArgument,
  type ConversationSettings,
  type JsonSchema,
  type OutputFormat,
  type SettingSpec,
  type SmolVLM,
} from '../../index.js';
import { UsageError } from '../errors.js';

/**
 * The settings /set changes, in the table's order. `stop` is left out: it is a list (a repeatable
 * flag), not one value to set, and /show prints it on a line of its own when set.
 */
export const SETTINGS: readonly SettingSpec[] = ALL_SETTINGS.filter((s) => s.kind !== 'strings');

/** The /set parameter named `name` (snake_case; kebab-case and camelCase are accepted too). */
export function findSetting(name: string): SettingSpec | undefined {
  const spec = findAnySetting(name);
  return spec && SETTINGS.includes(spec) ? spec : undefined;
}

/** How /set shows a value's form: `<t>, a number >= 0 (0 = greedy)`; `<on|off>` for a switch. */
function valueHint(spec: SettingSpec): string {
  return spec.kind === 'boolean' ? '<on|off>' : `${spec.valueName}, ${spec.rule}`;
}

/** Parses `/set` arguments into a settings change; `default` resets a parameter. */
export function parseSet(args: string): { spec: SettingSpec; change: Partial<ConversationSettings> } {
  const [name, ...rest] = args.split(/\s+/);
  const value = rest.join(' ');
  const spec = name ? findSetting(name) : undefined;
  if (!spec) {
    throw new UsageError(`${name ? `unknown parameter "${name}"` : 'missing parameter'}; /set takes one of ${SETTINGS.map((s) => s.name).join(', ')}`);
  }
  if (value === '') throw new UsageError(`missing value: /set ${spec.name} ${valueHint(spec)} (or "default")`);
  if (value.toLowerCase() === 'default') return { spec, change: { [spec.key]: undefined } };
  try {
    return { spec, change: { [spec.key]: parseSettingText(spec, value) } };
  } catch (error) {
    if (isSmolVLMError(error) && error.code === 'USAGE') throw new UsageError(`invalid ${spec.name} "${value}": ${error.message.replace(/\.$/, '')}`);
    throw error;
  }
}

/** The table's default in words, marked as the default: `0 (greedy)` -> `0 (greedy, default)`. */
function defaultNote(text: string): string {
  return text.endsWith(')') ? `${text.slice(0, -1)}, default)` : `${text} (default)`;
}

/** A setting's value as /show prints it, naming the default when unset (the model's own for images). */
export function formatSetting(spec: SettingSpec, settings: Readonly<ConversationSettings>, model: SmolVLM): string {
  const value = settings[spec.key];
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (value !== undefined) return String(value);
  if (spec.key === 'split') return `${model.processorOptions.doImageSplitting ? 'on' : 'off'} (model default)`;
  if (spec.key === 'imageSize') return `${model.processorOptions.longestEdge} (model default)`;
  if (spec.key === 'fps' || spec.key === 'maxFrames') {
    const sampling = model.videoOptions?.sampling;
    return sampling ? `${spec.key === 'fps' ? sampling.fps : sampling.maxFrames} (model default)` : 'no video (this model)';
  }
  return defaultNote(spec.defaultText);
}

/**
 * `/set format json|<schema>|off`: the answers' format, a request field rather than a row of the
 * settings table (it is a document, not a scalar). The schema is inline JSON or a file; off and
 * default turn structured output off. Conversation.setFormat checks it.
 */
export const FORMAT_PARAMETER = 'format';

/** Parses the value of `/set format` (undefined: off). */
export async function parseFormatValue(value: string): Promise<OutputFormat | undefined> {
  const text = value.trim();
  if (text === '') throw new UsageError('missing value: /set format json|<JSON Schema, inline or a file>|off');
  if (text === 'off' || text === 'default') return undefined;
  if (text === 'json') return 'json';
  // Checked by Conversation.setFormat.
  return { schema: (await readSchemaArgument(text)) as JsonSchema };
}

/** How /show prints the format. */
export function formatFormat(format: OutputFormat | undefined): string {
  if (format === undefined) return 'off (default)';
  if (format === 'json') return 'json';
  const text = JSON.stringify(format.schema);
  return `schema ${text.length > 70 ? `${text.slice(0, 69)}…` : text}`;
}

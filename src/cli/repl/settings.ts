/** `/set <param> <value>`: the parameters, their parsers (the same as the command-line flags) and how /show prints them. */
import { InvalidArgumentError } from '@commander-js/extra-typings';
import type { ConversationSettings, SmolVLM } from '../../index.js';
import { minP, nonNegativeInteger, positiveInteger, repetitionPenalty, seed, temperature, topP } from '../options.js';
import { UsageError } from '../errors.js';

export interface SettingSpec {
  /** As typed after /set (and as in transcripts). */
  name: string;
  key: keyof ConversationSettings;
  /** The command-line flag with the same meaning. */
  flag: string;
  values: string;
  parse: (value: string) => ConversationSettings[keyof ConversationSettings];
}

function parseBoolean(value: string): boolean {
  const v = value.toLowerCase();
  if (['on', 'true', 'yes', '1'].includes(v)) return true;
  if (['off', 'false', 'no', '0'].includes(v)) return false;
  throw new InvalidArgumentError('Must be on or off.');
}

export const SETTINGS: readonly SettingSpec[] = [
  { name: 'temperature', key: 'temperature', flag: '--temperature', values: '>= 0, 0 = greedy', parse: temperature },
  { name: 'top_k', key: 'topK', flag: '--top-k', values: 'integer >= 0, 0 = off', parse: nonNegativeInteger },
  { name: 'top_p', key: 'topP', flag: '--top-p', values: 'in (0, 1]', parse: topP },
  { name: 'min_p', key: 'minP', flag: '--min-p', values: 'in [0, 1)', parse: minP },
  { name: 'repetition_penalty', key: 'repetitionPenalty', flag: '--repetition-penalty', values: '> 0, 1 = off', parse: repetitionPenalty },
  { name: 'max_tokens', key: 'maxTokens', flag: '--max-tokens', values: 'integer >= 1', parse: positiveInteger },
  { name: 'seed', key: 'seed', flag: '--seed', values: 'integer', parse: seed },
  { name: 'split', key: 'split', flag: '--split/--no-split', values: 'on or off', parse: parseBoolean },
  { name: 'image_size', key: 'imageSize', flag: '--image-size', values: 'pixels, integer >= 1', parse: positiveInteger },
];

export function findSetting(name: string): SettingSpec | undefined {
  const normalised = name.toLowerCase().replace(/-/g, '_');
  return SETTINGS.find((s) => s.name === normalised);
}

/** Parses `/set` arguments into a settings change; `default` resets a parameter. */
export function parseSet(args: string): { spec: SettingSpec; change: Partial<ConversationSettings> } {
  const [name, ...rest] = args.split(/\s+/);
  const value = rest.join(' ');
  const spec = name ? findSetting(name) : undefined;
  if (!spec) {
    throw new UsageError(`${name ? `unknown parameter "${name}"` : 'missing parameter'}; /set takes one of ${SETTINGS.map((s) => s.name).join(', ')}`);
  }
  if (value === '') throw new UsageError(`missing value: /set ${spec.name} <${spec.values}> (or "default")`);
  if (value.toLowerCase() === 'default') return { spec, change: { [spec.key]: undefined } };
  try {
    return { spec, change: { [spec.key]: spec.parse(value) } };
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new UsageError(`invalid ${spec.name} "${value}": ${error.message.replace(/\.$/, '')}`);
    throw error;
  }
}

/** A setting's value as /show prints it, naming the default when unset. */
export function formatSetting(spec: SettingSpec, settings: Readonly<ConversationSettings>, model: SmolVLM): string {
  const value = settings[spec.key];
  if (value !== undefined) return spec.key === 'split' ? (value ? 'on' : 'off') : String(value);
  switch (spec.key) {
    case 'temperature':
      return '0 (greedy, default)';
    case 'topK':
      return settings.temperature ? '50 (default)' : '- (greedy)';
    case 'topP':
      return '1 (off, default)';
    case 'minP':
      return '0 (off, default)';
    case 'repetitionPenalty':
      return '1 (off, default)';
    case 'seed':
      return 'random';
    case 'split':
      return `${model.processorOptions.doImageSplitting ? 'on' : 'off'} (model default)`;
    case 'imageSize':
      return `${model.processorOptions.longestEdge} (model default)`;
    default:
      return '-';
  }
}

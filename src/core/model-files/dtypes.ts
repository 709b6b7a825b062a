import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { SmolVLMError } from '../errors.js';

/** The three ONNX sessions of an official SmolVLM export, by file base name. */
export const SESSION_NAMES = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'] as const;
export type SessionName = (typeof SESSION_NAMES)[number];

/** transformers.js dtype names and the file suffix each one selects. */
export const DTYPE_SUFFIXES = {
  fp32: '',
  fp16: '_fp16',
  q4: '_q4',
  q4f16: '_q4f16',
  int8: '_int8',
  uint8: '_uint8',
  quantized: '_quantized',
  q8: '_quantized',
  bnb4: '_bnb4',
} as const;
export type Dtype = keyof typeof DTYPE_SUFFIXES;
export const DTYPES = Object.keys(DTYPE_SUFFIXES) as Dtype[];

/** One dtype for every session, or one per session (missing sessions take `fallback`). */
export type DtypeSpec = Dtype | Partial<Record<SessionName, Dtype>>;
export type SessionDtypes = Record<SessionName, Dtype>;

/** Tried in order when no dtype is asked for: each session gets the first whose file exists (see the README's Performance section). */
export const DEFAULT_DTYPE_PREFERENCE: readonly Dtype[] = ['int8', 'uint8', 'quantized', 'q4', 'fp32', 'fp16', 'q4f16', 'bnb4'];

export function isDtype(value: string): value is Dtype {
  return Object.hasOwn(DTYPE_SUFFIXES, value);
}

/**
 * Parses `int8`, or `vision_encoder=fp32,decoder_model_merged=q4` (short names `vision`, `embed`,
 * `decoder` accepted) into a per-session map.
 */
export function parseDtypeSpec(text: string): DtypeSpec {
  if (!text.includes('=')) {
    if (!isDtype(text)) throw new SmolVLMError('USAGE', `unknown dtype "${text}" (one of ${DTYPES.join(', ')})`);
    return text;
  }
  const spec: Partial<Record<SessionName, Dtype>> = {};
  for (const part of text.split(',')) {
    const [key = '', value = ''] = part.split('=').map((s) => s.trim());
    const session = SESSION_ALIASES[key];
    if (!session) throw new SmolVLMError('USAGE', `unknown session "${key}" in dtype "${text}" (vision, embed, decoder)`);
    if (!isDtype(value)) throw new SmolVLMError('USAGE', `unknown dtype "${value}" (one of ${DTYPES.join(', ')})`);
    spec[session] = value;
  }
  return spec;
}

const SESSION_ALIASES: Record<string, SessionName> = {
  vision: 'vision_encoder',
  vision_encoder: 'vision_encoder',
  embed: 'embed_tokens',
  embed_tokens: 'embed_tokens',
  decoder: 'decoder_model_merged',
  decoder_model_merged: 'decoder_model_merged',
};

export function resolveSessionDtypes(spec: DtypeSpec | undefined, fallback: Dtype): SessionDtypes {
  if (typeof spec === 'string') return { vision_encoder: spec, embed_tokens: spec, decoder_model_merged: spec };
  return {
    vision_encoder: spec?.vision_encoder ?? fallback,
    embed_tokens: spec?.embed_tokens ?? fallback,
    decoder_model_merged: spec?.decoder_model_merged ?? fallback,
  };
}

export function onnxFileName(session: SessionName, dtype: Dtype): string {
  return `onnx/${session}${DTYPE_SUFFIXES[dtype]}.onnx`;
}

/** JSON files of a model directory; `chat_template.json` is optional. */
export const REQUIRED_JSON_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'processor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
] as const;
export const OPTIONAL_JSON_FILES = ['chat_template.json'] as const;

/** Every file a model needs for the given dtypes (external data parts excluded: see `externalDataFiles`). */
export function requiredModelFiles(dtypes: SessionDtypes): string[] {
  return [...REQUIRED_JSON_FILES, ...SESSION_NAMES.map((s) => onnxFileName(s, dtypes[s]))];
}

/** `X.onnx_data`, `X.onnx_data_1`, ... that exist beside `X.onnx`. */
export function externalDataFiles(dir: string, onnxFile: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < 100; i++) {
    const name = `${onnxFile}_data${i === 0 ? '' : `_${i}`}`;
    if (!existsSync(path.join(dir, name))) {
      if (i > 0) break;
      continue;
    }
    found.push(name);
  }
  return found;
}

export interface ModelDirectory {
  dir: string;
  config: any;
  generationConfig: any;
  preprocessorConfig: any;
  processorConfig: any;
  tokenizerJson: any;
  tokenizerConfig: any;
  chatTemplate: string;
  /** Absolute ONNX paths, not resolved through symlinks (external data sits beside the link). */
  onnxPaths: Record<SessionName, string>;
  dtypes: SessionDtypes;
}

function readJson(dir: string, file: string): any {
  const full = path.join(dir, file);
  if (!existsSync(full)) {
    throw new SmolVLMError('MODEL_FILE_MISSING', `model file ${file} is missing in ${dir}`);
  }
  try {
    return JSON.parse(readFileSync(full, 'utf8'));
  } catch (error) {
    throw new SmolVLMError('MODEL_INVALID', `model file ${file} in ${dir} is not valid JSON`, { cause: error });
  }
}

/** Reads and checks a model directory in the official layout; nothing is loaded into ONNX Runtime yet. */
export function readModelDirectory(dir: string, dtypeSpec: DtypeSpec | undefined, fallbackDtype: Dtype = 'fp32'): ModelDirectory {
  const absolute = path.resolve(dir);
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) {
    throw new SmolVLMError('MODEL_NOT_FOUND', `model directory ${dir} does not exist`);
  }
  const dtypes = resolveSessionDtypes(dtypeSpec, fallbackDtype);
  const onnxPaths = {} as Record<SessionName, string>;
  for (const session of SESSION_NAMES) {
    const file = onnxFileName(session, dtypes[session]);
    const full = path.join(absolute, file);
    if (!existsSync(full)) {
      throw new SmolVLMError(
        'MODEL_FILE_MISSING',
        `model file ${file} (dtype ${dtypes[session]}) is missing in ${absolute}${availableDtypesHint(absolute, session)}`,
      );
    }
    onnxPaths[session] = full;
  }
  const tokenizerConfig = readJson(absolute, 'tokenizer_config.json');
  const chatTemplateFile = path.join(absolute, 'chat_template.json');
  let chatTemplate: string | undefined;
  if (existsSync(chatTemplateFile)) chatTemplate = readJson(absolute, 'chat_template.json').chat_template;
  chatTemplate ??= tokenizerConfig.chat_template;
  if (typeof chatTemplate !== 'string') {
    throw new SmolVLMError('MODEL_FILE_MISSING', `model in ${absolute} has no chat template (chat_template.json or tokenizer_config.json)`);
  }
  return {
    dir: absolute,
    config: readJson(absolute, 'config.json'),
    generationConfig: readJson(absolute, 'generation_config.json'),
    preprocessorConfig: readJson(absolute, 'preprocessor_config.json'),
    processorConfig: readJson(absolute, 'processor_config.json'),
    tokenizerJson: readJson(absolute, 'tokenizer.json'),
    tokenizerConfig,
    chatTemplate,
    onnxPaths,
    dtypes,
  };
}

/** Dtypes whose files for `session` exist in a directory. */
export function availableDtypes(dir: string, session: SessionName): Dtype[] {
  return DTYPES.filter((d) => d !== 'q8' && existsSync(path.join(dir, onnxFileName(session, d))));
}

function availableDtypesHint(dir: string, session: SessionName): string {
  const present = availableDtypes(dir, session);
  return present.length > 0 ? ` (present: ${present.join(', ')})` : '';
}

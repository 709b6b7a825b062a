/*
 * Reading a model directory in the official layout: the JSON files (checked to be JSON objects here, where they
 * come in; spec.ts reads the fields the engine needs) and the paths of the three ONNX session files of the chosen
 * dtypes. Nothing is loaded into ONNX Runtime here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { SmolVLMError } from '../errors.js';
import {
  DEFAULT_DTYPE,
  DEFAULT_DTYPE_PREFERENCE,
  dtypesPresent,
  onnxFileName,
  resolveDtypes,
  SESSION_NAMES,
  sessionFiles,
  type Dtype,
  type DtypeSpec,
  type SessionDtypes,
  type SessionName,
} from './dtypes.js';

/** JSON files every model needs besides the ONNX sessions, as the engine reads them. */
export const REQUIRED_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'processor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
] as const;

/** Files a model may lack (the chat template then comes from tokenizer_config.json). */
export const OPTIONAL_FILES = ['chat_template.json'] as const;

/** A parsed JSON file whose fields are still unchecked. */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface ModelDirectory {
  dir: string;
  config: JsonObject;
  generationConfig: JsonObject;
  preprocessorConfig: JsonObject;
  processorConfig: JsonObject;
  tokenizerJson: JsonObject;
  tokenizerConfig: JsonObject;
  chatTemplate: string;
  /** Absolute ONNX paths, not resolved through symlinks (external data sits beside the link). */
  onnxPaths: Record<SessionName, string>;
  dtypes: SessionDtypes;
}

function readJson(dir: string, file: string): JsonObject {
  const full = path.join(dir, file);
  if (!existsSync(full)) {
    throw new SmolVLMError('MODEL_FILE_MISSING', `model file ${file} is missing in ${dir}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(full, 'utf8'));
  } catch (error) {
    throw new SmolVLMError('MODEL_INVALID', `model file ${file} in ${dir} is not valid JSON`, { cause: error });
  }
  if (!isJsonObject(value)) throw new SmolVLMError('MODEL_INVALID', `model file ${file} in ${dir} is not a JSON object`);
  return value;
}

/** Per session, the first dtype of `preference` whose file exists in `dir` (else DEFAULT_DTYPE, reported missing on load). */
export function preferredDtypes(dir: string, preference: readonly Dtype[] = DEFAULT_DTYPE_PREFERENCE): SessionDtypes {
  const out = {} as SessionDtypes;
  for (const session of SESSION_NAMES) {
    out[session] = preference.find((d) => existsSync(path.join(dir, onnxFileName(session, d)))) ?? DEFAULT_DTYPE;
  }
  return out;
}

/** Absolute paths of the three session files of `dtypes` in a model directory or snapshot (not checked). */
export function sessionPaths(dir: string, dtypes: SessionDtypes): Record<SessionName, string> {
  const paths = {} as Record<SessionName, string>;
  for (const [session, file] of Object.entries(sessionFiles(dtypes)) as [SessionName, string][]) paths[session] = path.join(dir, ...file.split('/'));
  return paths;
}

/** ` (present: fp32, q4)`: the dtypes of `session` the directory has, for a message about a missing file. */
function presentDtypesHint(dir: string, session: SessionName): string {
  let names: string[] = [];
  try {
    names = readdirSync(path.join(dir, 'onnx'));
  } catch {
    // no onnx/ folder: nothing present
  }
  const present = dtypesPresent(names).sessions[session];
  return present.length > 0 ? ` (present: ${present.join(', ')})` : '';
}

function chatTemplateOf(dir: string, tokenizerConfig: JsonObject): string {
  const fromFile = existsSync(path.join(dir, 'chat_template.json')) ? readJson(dir, 'chat_template.json')['chat_template'] : undefined;
  const template = fromFile ?? tokenizerConfig['chat_template'];
  if (typeof template !== 'string') {
    throw new SmolVLMError('MODEL_FILE_MISSING', `model in ${dir} has no chat template (chat_template.json or tokenizer_config.json)`);
  }
  return template;
}

/**
 * Reads and checks a model directory in the official layout. `dtype` absent: per session the preferred dtype
 * present (DEFAULT_DTYPE_PREFERENCE); a per-session dtype that leaves sessions out gives them DEFAULT_DTYPE.
 */
export function readModelDirectory(dir: string, dtype?: DtypeSpec): ModelDirectory {
  const absolute = path.resolve(dir);
  if (!existsSync(absolute)) throw new SmolVLMError('MODEL_NOT_FOUND', `model directory ${dir} does not exist`);
  if (!statSync(absolute).isDirectory()) throw new SmolVLMError('MODEL_NOT_FOUND', `${dir} is a file, not a model directory`);
  const dtypes = dtype === undefined ? preferredDtypes(absolute) : resolveDtypes(dtype);
  const onnxPaths = sessionPaths(absolute, dtypes);
  for (const session of SESSION_NAMES) {
    if (!existsSync(onnxPaths[session])) {
      const file = onnxFileName(session, dtypes[session]);
      throw new SmolVLMError(
        'MODEL_FILE_MISSING',
        `model file ${file} (dtype ${dtypes[session]}) is missing in ${absolute}${presentDtypesHint(absolute, session)}`,
      );
    }
  }
  const tokenizerConfig = readJson(absolute, 'tokenizer_config.json');
  const chatTemplate = chatTemplateOf(absolute, tokenizerConfig);
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

/*
 * The dtype <-> file vocabulary of the official ONNX exports, shared by the engine (which files to load) and the
 * Hub (which files to download; what a repo listing or a cached snapshot holds).
 *
 * A model is three ONNX sessions; each comes in several numeric variants ("dtypes", transformers.js's names),
 * one file per variant: `onnx/{session}{suffix}.onnx`, e.g. `onnx/decoder_model_merged_q4.onnx`. A file may keep
 * its weights beside it in external data parts `X.onnx_data`, `X.onnx_data_1`, ...
 */
import { SmolVLMError } from '../errors.js';

/** The three ONNX sessions of an official SmolVLM export, by file base name. */
export const SESSION_NAMES = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'] as const;
export type SessionName = (typeof SESSION_NAMES)[number];

/** transformers.js dtype names and the file suffix each one selects (`q8` and `quantized` name the same file). */
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

/** One dtype for every session, or one per session (the sessions it does not name take a fallback). */
export type DtypeSpec = Dtype | Partial<Record<SessionName, Dtype>>;
export type SessionDtypes = Record<SessionName, Dtype>;

/** For the sessions a per-session dtype does not name (as transformers.js does). */
export const DEFAULT_DTYPE: Dtype = 'fp32';

/** Tried in order when no dtype is asked for: each session gets the first whose file exists (see the README's Performance section). */
export const DEFAULT_DTYPE_PREFERENCE: readonly Dtype[] = ['int8', 'uint8', 'quantized', 'q4', 'fp32', 'fp16', 'q4f16', 'bnb4'];

/** One name per file suffix, in the order listings show them (`_quantized` is reported as q8). */
export const CANONICAL_DTYPES: readonly Dtype[] = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'];

export function isDtype(value: string): value is Dtype {
  return Object.hasOwn(DTYPE_SUFFIXES, value);
}

export function isSessionName(value: string): value is SessionName {
  return (SESSION_NAMES as readonly string[]).includes(value);
}

/** Short names accepted in text such as `vision=fp16,decoder=q4`. */
const SESSION_ALIASES: Record<string, SessionName> = {
  vision: 'vision_encoder',
  vision_encoder: 'vision_encoder',
  embed: 'embed_tokens',
  embed_tokens: 'embed_tokens',
  decoder: 'decoder_model_merged',
  decoder_model_merged: 'decoder_model_merged',
};

function unknownDtype(value: unknown, where = ''): SmolVLMError {
  return new SmolVLMError('USAGE', `unknown dtype "${String(value)}"${where} (one of ${DTYPES.join(', ')})`);
}

/**
 * Parses `int8`, or `vision_encoder=fp32,decoder_model_merged=q4` (short names `vision`, `embed`,
 * `decoder` accepted) into a per-session map.
 */
export function parseDtypeSpec(text: string): DtypeSpec {
  if (!text.includes('=')) {
    if (!isDtype(text)) throw unknownDtype(text);
    return text;
  }
  const spec: Partial<Record<SessionName, Dtype>> = {};
  for (const part of text.split(',')) {
    const [key = '', value = ''] = part.split('=').map((s) => s.trim());
    const session = SESSION_ALIASES[key];
    if (!session) throw new SmolVLMError('USAGE', `unknown session "${key}" in dtype "${text}" (vision, embed, decoder)`);
    if (!isDtype(value)) throw unknownDtype(value);
    spec[session] = value;
  }
  return spec;
}

/**
 * One dtype per session from a dtype option (text as parseDtypeSpec reads it, one dtype, or one per session),
 * every value checked: it may come from JavaScript callers without types. Sessions not named take `fallback`.
 */
export function resolveDtypes(spec: DtypeSpec | string, fallback: Dtype = DEFAULT_DTYPE): SessionDtypes {
  const parsed: DtypeSpec = typeof spec === 'string' ? parseDtypeSpec(spec.trim()) : spec;
  if (typeof parsed === 'string') return { vision_encoder: parsed, embed_tokens: parsed, decoder_model_merged: parsed };
  for (const key of Object.keys(parsed)) {
    if (!isSessionName(key)) throw new SmolVLMError('USAGE', `unknown session "${key}" in dtype option; expected ${SESSION_NAMES.join(', ')}`);
  }
  const out = {} as SessionDtypes;
  for (const session of SESSION_NAMES) {
    const value: unknown = parsed[session] ?? fallback;
    if (typeof value !== 'string' || !isDtype(value)) throw unknownDtype(value, ` for ${session}`);
    out[session] = value;
  }
  return out;
}

/** Per session, the first dtype of `preference` for which `has(session, dtype)`; undefined if some session has none. */
export function pickDtypes(preference: readonly Dtype[], has: (session: SessionName, dtype: Dtype) => boolean): SessionDtypes | undefined {
  const out = {} as SessionDtypes;
  for (const session of SESSION_NAMES) {
    const d = preference.find((dtype) => has(session, dtype));
    if (!d) return undefined;
    out[session] = d;
  }
  return out;
}

/** `onnx/{session}{suffix}.onnx`, the repo path of one session file. */
export function onnxFileName(session: SessionName, dtype: Dtype): string {
  return `onnx/${session}${DTYPE_SUFFIXES[dtype]}.onnx`;
}

/** The repo paths of the three session files. */
export function sessionFiles(dtypes: SessionDtypes): Record<SessionName, string> {
  const out = {} as Record<SessionName, string>;
  for (const s of SESSION_NAMES) out[s] = onnxFileName(s, dtypes[s]);
  return out;
}

const SUFFIX_TO_DTYPE = new Map<string, Dtype>(CANONICAL_DTYPES.map((d) => [DTYPE_SUFFIXES[d], d]));

/** Reverse of onnxFileName for a base name such as `decoder_model_merged_q4f16.onnx`. */
export function parseOnnxFileName(name: string): { session: SessionName; dtype: Dtype } | undefined {
  const m = /^(vision_encoder|embed_tokens|decoder_model_merged)(_[a-z0-9]+)?\.onnx$/.exec(name);
  if (!m) return undefined;
  const dtype = SUFFIX_TO_DTYPE.get(m[2] ?? '');
  return dtype === undefined ? undefined : { session: m[1] as SessionName, dtype };
}

export interface DtypesPresent {
  /** Per session, the dtypes whose file is there (canonical names and order). */
  sessions: Record<SessionName, Dtype[]>;
  /** The dtypes whose three session files are all there. */
  complete: Dtype[];
}

/** What the base names of an `onnx/` folder (a directory, a repo listing, a snapshot) hold. */
export function dtypesPresent(onnxFolderNames: Iterable<string>): DtypesPresent {
  const found = new Map<SessionName, Set<Dtype>>(SESSION_NAMES.map((s) => [s, new Set<Dtype>()]));
  for (const name of onnxFolderNames) {
    const parsed = parseOnnxFileName(name);
    if (parsed) found.get(parsed.session)?.add(parsed.dtype);
  }
  const sessions = {} as Record<SessionName, Dtype[]>;
  for (const s of SESSION_NAMES) sessions[s] = CANONICAL_DTYPES.filter((d) => found.get(s)?.has(d));
  const complete = CANONICAL_DTYPES.filter((d) => SESSION_NAMES.every((s) => sessions[s].includes(d)));
  return { sessions, complete };
}

/** Most external-data parts looked for (transformers.js stops at 100 as well). */
export const MAX_DATA_PARTS = 100;

/** `X.onnx_data`, then `X.onnx_data_1`, `X.onnx_data_2`, ... for the part index 0, 1, 2, ... */
export function dataPartName(onnxFile: string, index: number): string {
  return index === 0 ? `${onnxFile}_data` : `${onnxFile}_data_${index}`;
}

/** True if `name` (a base name) is an external-data part of `onnxBase` (a base name ending in .onnx). */
export function isDataPartOf(name: string, onnxBase: string): boolean {
  if (!name.startsWith(`${onnxBase}_data`)) return false;
  const rest = name.slice(onnxBase.length + '_data'.length);
  return rest === '' || /^_[1-9]\d*$/.test(rest);
}

/** Data parts in download order (`_data`, `_data_1`, `_data_2`, ...). */
export function sortDataParts(names: string[]): string[] {
  const index = (n: string): number => {
    const m = /_data_(\d+)$/.exec(n);
    return m ? Number(m[1]) : 0;
  };
  return [...names].sort((a, b) => index(a) - index(b));
}

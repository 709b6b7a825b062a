import { SmolVLMError } from '../errors.js';

export const SESSION_NAMES = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'] as const;
export type SessionName = (typeof SESSION_NAMES)[number];

/** transformers.js dtype -> file suffix (spec §1.2). `quantized` is accepted as a synonym of `q8`. */
export const DTYPE_SUFFIX = {
  fp32: '',
  fp16: '_fp16',
  q4: '_q4',
  q4f16: '_q4f16',
  int8: '_int8',
  uint8: '_uint8',
  q8: '_quantized',
  quantized: '_quantized',
  bnb4: '_bnb4',
} as const;
export type Dtype = keyof typeof DTYPE_SUFFIX;
/** One dtype for all sessions, or one per session (missing sessions take the default). */
export type DtypeSpec = Dtype | Partial<Record<SessionName, Dtype>>;
export type SessionDtypes = Record<SessionName, Dtype>;

export const DEFAULT_DTYPE: Dtype = 'fp32';

/** Canonical names, one per suffix (what listings report). */
export const CANONICAL_DTYPES: readonly Dtype[] = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'];

export function isDtype(value: string): value is Dtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_SUFFIX, value);
}

function checkDtype(value: string, where: string): Dtype {
  if (!isDtype(value)) {
    throw new SmolVLMError('USAGE', `unknown dtype "${value}"${where}; expected one of ${Object.keys(DTYPE_SUFFIX).join(', ')}`);
  }
  return value;
}

function isSessionName(value: string): value is SessionName {
  return (SESSION_NAMES as readonly string[]).includes(value);
}

/**
 * Parses a dtype option: `q4`, or `vision_encoder=fp16,embed_tokens=q4,decoder_model_merged=q4f16`
 * (sessions not named take `fallback`).
 */
export function parseDtypeSpec(text: string): DtypeSpec {
  const trimmed = text.trim();
  if (!trimmed.includes('=')) return checkDtype(trimmed, '');
  const spec: Partial<Record<SessionName, Dtype>> = {};
  for (const part of trimmed.split(',')) {
    const [key = '', value = ''] = part.split('=').map((s) => s.trim());
    if (!isSessionName(key)) {
      throw new SmolVLMError('USAGE', `unknown session "${key}" in dtype "${text}"; expected ${SESSION_NAMES.join(', ')}`);
    }
    spec[key] = checkDtype(value, ` for ${key}`);
  }
  return spec;
}

/** Expands a dtype option into one dtype per session, validating every value. */
export function resolveDtypes(spec: DtypeSpec | string | undefined, fallback: Dtype = DEFAULT_DTYPE): SessionDtypes {
  const parsed: DtypeSpec = spec === undefined ? fallback : typeof spec === 'string' ? parseDtypeSpec(spec) : spec;
  if (typeof parsed === 'string') {
    return { vision_encoder: parsed, embed_tokens: parsed, decoder_model_merged: parsed };
  }
  for (const key of Object.keys(parsed)) {
    if (!isSessionName(key)) throw new SmolVLMError('USAGE', `unknown session "${key}" in dtype option; expected ${SESSION_NAMES.join(', ')}`);
  }
  const out = {} as SessionDtypes;
  for (const session of SESSION_NAMES) out[session] = checkDtype(parsed[session] ?? fallback, ` for ${session}`);
  return out;
}

/** `onnx/{session}{suffix}.onnx` */
export function onnxFilePath(session: SessionName, dtype: Dtype): string {
  return `onnx/${session}${DTYPE_SUFFIX[dtype]}.onnx`;
}

const SUFFIX_TO_DTYPE = new Map<string, Dtype>(CANONICAL_DTYPES.map((d) => [DTYPE_SUFFIX[d], d]));

/** Reverse of onnxFilePath for a base name such as `decoder_model_merged_q4f16.onnx`. */
export function parseOnnxFileName(name: string): { session: SessionName; dtype: Dtype } | undefined {
  const m = /^(vision_encoder|embed_tokens|decoder_model_merged)(_[a-z0-9]+)?\.onnx$/.exec(name);
  if (!m) return undefined;
  const dtype = SUFFIX_TO_DTYPE.get(m[2] ?? '');
  return dtype === undefined ? undefined : { session: m[1] as SessionName, dtype };
}

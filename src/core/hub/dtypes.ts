/*
 * dtype vocabulary: the definitions live in core/model-dir.ts (shared with the engine); this adds what the hub
 * needs on top (validation of untyped input, the file-name reverse mapping, and per-session choice by preference).
 */
import { SmolVLMError } from '../errors.js';
import {
  DEFAULT_DTYPE_PREFERENCE,
  DTYPE_SUFFIXES,
  DTYPES,
  isDtype,
  onnxFileName,
  parseDtypeSpec,
  SESSION_NAMES,
  type Dtype,
  type DtypeSpec,
  type SessionDtypes,
  type SessionName,
} from '../model-files/dtypes.js';

export { DEFAULT_DTYPE_PREFERENCE, DTYPE_SUFFIXES, DTYPES, isDtype, parseDtypeSpec, SESSION_NAMES, type Dtype, type DtypeSpec, type SessionDtypes, type SessionName };

/** Fallback for the sessions a per-session dtype object does not name (as the engine does). */
export const DEFAULT_DTYPE: Dtype = 'fp32';


/** Canonical names, one per suffix (what listings report; `_quantized` is reported as q8). */
export const CANONICAL_DTYPES: readonly Dtype[] = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'];

function checkDtype(value: unknown, where: string): Dtype {
  if (typeof value !== 'string' || !isDtype(value)) {
    throw new SmolVLMError('USAGE', `unknown dtype "${String(value)}"${where}; expected one of ${DTYPES.join(', ')}`);
  }
  return value;
}

function isSessionName(value: string): value is SessionName {
  return (SESSION_NAMES as readonly string[]).includes(value);
}

/** Expands an explicit dtype option (text or object) into one dtype per session, validating every value. */
export function resolveDtypes(spec: DtypeSpec | string, fallback: Dtype = DEFAULT_DTYPE): SessionDtypes {
  const parsed: DtypeSpec = typeof spec === 'string' ? parseDtypeSpec(spec.trim()) : spec;
  if (typeof parsed === 'string') return { vision_encoder: parsed, embed_tokens: parsed, decoder_model_merged: parsed };
  for (const key of Object.keys(parsed)) {
    if (!isSessionName(key)) throw new SmolVLMError('USAGE', `unknown session "${key}" in dtype option; expected ${SESSION_NAMES.join(', ')}`);
  }
  const out = {} as SessionDtypes;
  for (const session of SESSION_NAMES) out[session] = checkDtype(parsed[session] ?? fallback, ` for ${session}`);
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

/** `onnx/{session}{suffix}.onnx` */
export const onnxFilePath: (session: SessionName, dtype: Dtype) => string = onnxFileName;

const SUFFIX_TO_DTYPE = new Map<string, Dtype>(CANONICAL_DTYPES.map((d) => [DTYPE_SUFFIXES[d], d]));

/** Reverse of onnxFilePath for a base name such as `decoder_model_merged_q4f16.onnx`. */
export function parseOnnxFileName(name: string): { session: SessionName; dtype: Dtype } | undefined {
  const m = /^(vision_encoder|embed_tokens|decoder_model_merged)(_[a-z0-9]+)?\.onnx$/.exec(name);
  if (!m) return undefined;
  const dtype = SUFFIX_TO_DTYPE.get(m[2] ?? '');
  return dtype === undefined ? undefined : { session: m[1] as SessionName, dtype };
}

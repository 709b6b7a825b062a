/**
 * The default dtype per session: int8 is the fastest 8-bit variant where onnxruntime's int8 kernel is
 * exact, but where it saturates (x86 without VNNI, see int8-kernels.ts) uint8 is preferred: the
 * official repos ship `_uint8` files of the same size, and uint8 weights are exact on every CPU.
 * `_quantized` (q8) comes next: transformers.js's quantize script writes it with uint8 weights when a
 * model has Conv or attention ops (the official SmolVLM `_quantized` files are byte-identical to
 * `_uint8`), else with int8 weights, so it is never worse than `_int8`.
 */
import { detectInt8Kernels, type DetectInt8Options, type Int8KernelReport } from './int8-kernels.js';
import { DEFAULT_DTYPE_PREFERENCE, SESSION_NAMES, type Dtype, type DtypeSpec, type SessionName } from './model-files/dtypes.js';

/** The order tried where int8 kernels saturate: DEFAULT_DTYPE_PREFERENCE with int8 after uint8 and quantized. */
export const SATURATING_INT8_DTYPE_PREFERENCE: readonly Dtype[] = ['uint8', 'quantized', 'int8', 'q4', 'fp32', 'fp16', 'q4f16', 'bnb4'];

/** The preference list for a CPU whose int8 kernel does (or does not) saturate. */
export function defaultDtypePreference(int8Saturates: boolean): readonly Dtype[] {
  return int8Saturates ? SATURATING_INT8_DTYPE_PREFERENCE : DEFAULT_DTYPE_PREFERENCE;
}

export interface DefaultDtypeChoice {
  /** The dtype per session; a session with no file of any known dtype is left out. */
  dtypes: Partial<Record<SessionName, Dtype>>;
  /** One line on why, e.g. "int8 kernels saturate on this CPU: uint8 preferred over int8". */
  reason: string;
}

/**
 * Chooses the dtype of each session from the dtypes its files exist in (`available`): the requested
 * one where a dtype is asked for, else the first of defaultDtypePreference(int8Saturates).
 */
export function chooseDefaultDtypes(
  available: Partial<Record<SessionName, readonly Dtype[]>>,
  int8Saturates: boolean,
  requested?: DtypeSpec,
): DefaultDtypeChoice {
  const preference = defaultDtypePreference(int8Saturates);
  const dtypes: Partial<Record<SessionName, Dtype>> = {};
  let defaulted = false;
  let avoidedInt8 = false;
  let keptInt8 = false;
  for (const session of SESSION_NAMES) {
    const asked = typeof requested === 'string' ? requested : requested?.[session];
    if (asked) {
      dtypes[session] = asked;
      continue;
    }
    const present = available[session] ?? [];
    const choice = preference.find((d) => present.includes(d));
    if (!choice) continue;
    dtypes[session] = choice;
    defaulted = true;
    if (int8Saturates && present.includes('int8')) {
      if (choice === 'int8') keptInt8 = true;
      else avoidedInt8 = true;
    }
  }
  return { dtypes, reason: choiceReason(defaulted, int8Saturates, avoidedInt8, keptInt8, dtypes) };
}

function choiceReason(defaulted: boolean, saturates: boolean, avoided: boolean, kept: boolean, dtypes: Partial<Record<SessionName, Dtype>>): string {
  if (!defaulted) return 'as requested';
  const chosen = [...new Set(Object.values(dtypes))].join(', ');
  if (!saturates) return `int8 kernels are exact on this CPU: the first of ${DEFAULT_DTYPE_PREFERENCE.join(', ')} present (${chosen})`;
  if (kept) return `int8 kernels saturate on this CPU, but the model has no uint8 or quantized file: int8 kept (${chosen})`;
  if (avoided) return `int8 kernels saturate on this CPU: ${chosen} preferred over int8`;
  return `int8 kernels saturate on this CPU: the first of ${SATURATING_INT8_DTYPE_PREFERENCE.join(', ')} present (${chosen})`;
}

/** The preference list for this machine (runs the int8 probe once per machine, see detectInt8Kernels). */
export async function machineDtypePreference(options?: DetectInt8Options): Promise<readonly Dtype[]> {
  return defaultDtypePreference((await detectInt8Kernels(options)).saturates);
}

/** "int8 kernels: saturating (AVX2, no VNNI) → default uint8", for `smolvlm version` and --verbose. */
export function int8KernelsLine(report: Int8KernelReport): string {
  return `int8 kernels: ${report.summary} → default ${defaultDtypePreference(report.saturates)[0]}`;
}

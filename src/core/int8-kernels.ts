/**
 * Whether onnxruntime's int8 kernel saturates on this CPU.
 *
 * `_int8` files multiply uint8 activations by int8 weights (U8S8). On x86 CPUs without VNNI,
 * onnxruntime's kernels (MLAS, AVX2 and AVX-512 without VNNI) use VPMADDUBSW, which adds each pair
 * of products into int16 with saturation, so large activations times large weights come out wrong
 * (onnxruntime documents this and recommends 7-bit `reduce_range` weights there; the official
 * `_int8` files use the full [-127, 127] range). VNNI, AMX and ARM kernels are exact, and so are
 * uint8 weights (U8U8) everywhere.
 *
 * The answer comes from, in order: the SMOLVLM_INT8_SATURATES override (1 or 0); what an earlier
 * probe on this machine found, remembered in `<smolvlm cache>/int8-kernels.json` keyed by CPU and
 * onnxruntime version; a tiny onnxruntime probe (one MatMulInteger whose int16 pair sums overflow,
 * compared with the exact result), which works on every OS; the CPU flags (Linux `/proc/cpuinfo`,
 * mirroring MLAS's dispatch), which also explain the answer.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onnx } from '../../proto/onnx.js';
import type * as ort from 'onnxruntime-node';
import { onnxRuntime } from './lazy-modules.js';
import { SmolVLMError } from './errors.js';
import { defaultOptimizedGraphCacheDir } from './optimized-graph-cache.js';

/** Set to 1 (saturates) or 0 (exact) to skip the probe: for tests, and to force either default dtype. */
export const INT8_SATURATES_ENV = 'SMOLVLM_INT8_SATURATES';

/** The U8S8 kernel onnxruntime picks from the CPU flags, as MLAS's dispatch does (x86 only). */
export interface CpuInt8Kernel {
  /** e.g. "AVX2, no VNNI", "AVX-512 VNNI". */
  name: string;
  saturates: boolean;
}

export interface Int8KernelReport {
  /** True when int8 (U8S8) matrix products can come out wrong on this CPU. */
  saturates: boolean;
  /** How it is known: the override, the probe (run now or remembered), the CPU flags alone, or assumed. */
  source: 'override' | 'probe' | 'remembered' | 'cpu-flags' | 'assumed';
  /** What the CPU flags say, where the OS shows them. */
  cpu?: CpuInt8Kernel;
  /** e.g. "saturating (AVX2, no VNNI)", "exact (AVX-512 VNNI)". */
  summary: string;
}

export interface DetectInt8Options {
  env?: NodeJS.ProcessEnv;
  /** Where the answer is remembered (default `<smolvlm cache>/int8-kernels.json`); false: never. */
  cacheFile?: string | false;
  /** The measurement (default: probeInt8Saturation); tests replace it. */
  probe?: () => Promise<boolean>;
  /** `/proc/cpuinfo` text (default: read it); null: none, as on other systems than Linux. */
  cpuinfo?: string | null;
}

/** Reads SMOLVLM_INT8_SATURATES: true, false, or undefined when unset. */
export function int8SaturatesOverride(env: NodeJS.ProcessEnv = process.env): boolean | undefined {
  const raw = env[INT8_SATURATES_ENV]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new SmolVLMError('USAGE', `${INT8_SATURATES_ENV} must be 1 or 0, got "${env[INT8_SATURATES_ENV]}"`);
}

/**
 * The kernel MLAS dispatches to for U8S8 on x86, from the `flags` line of /proc/cpuinfo: AVX2, then
 * AVX-VNNI, then AVX-512 core (BW/DQ/VL, overriding AVX-VNNI), then AVX-512 VNNI, then AMX. Undefined
 * on other architectures (ARM kernels widen before adding and never saturate) or without a flags line.
 */
export function cpuInt8Kernel(cpuinfo: string | undefined, arch: string = process.arch): CpuInt8Kernel | undefined {
  if (arch !== 'x64' || cpuinfo === undefined) return undefined;
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1];
  if (line === undefined) return undefined;
  const flags = new Set(line.trim().split(/\s+/));
  const has = (...names: string[]) => names.every((n) => flags.has(n));
  if (has('amx_tile', 'amx_int8')) return { name: 'AMX', saturates: false };
  if (has('avx512f', 'avx512bw', 'avx512dq', 'avx512vl')) {
    return has('avx512_vnni') ? { name: 'AVX-512 VNNI', saturates: false } : { name: 'AVX-512, no VNNI', saturates: true };
  }
  if (has('avx2', 'fma')) return has('avx_vnni') ? { name: 'AVX-VNNI', saturates: false } : { name: 'AVX2, no VNNI', saturates: true };
  return { name: 'SSE', saturates: false };
}

// The probe: y = a x b with a = 255 and b = 127 everywhere. Exact: 255 * 127 * K per element; a
// saturating kernel clamps each pair sum (64770) to 32767. b is a constant initializer so that
// onnxruntime prepacks it, as it does the weights of a real model.
const PROBE_M = 4;
const PROBE_K = 64;
const PROBE_N = 16;
const TENSOR_UINT8 = 2;
const TENSOR_INT8 = 3;
const TENSOR_INT32 = 6;

/** The probe model (about 1.2 KB), built in memory. */
export function int8ProbeModel(): Uint8Array {
  const valueInfo = (name: string, elemType: number, dims: number[]) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'smolvlm-int8-probe',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'int8_probe',
      node: [{ opType: 'MatMulInteger', name: 'probe', input: ['a', 'b', '', 'b_zero_point'], output: ['y'] }],
      initializer: [
        { name: 'b', dataType: TENSOR_INT8, dims: [PROBE_K, PROBE_N], rawData: new Uint8Array(PROBE_K * PROBE_N).fill(127) },
        { name: 'b_zero_point', dataType: TENSOR_INT8, dims: [], rawData: Uint8Array.of(0) },
      ],
      input: [valueInfo('a', TENSOR_UINT8, [PROBE_M, PROBE_K])],
      output: [valueInfo('y', TENSOR_INT32, [PROBE_M, PROBE_N])],
    },
  }).finish();
}

/** Runs the probe in onnxruntime: true when the int8 product is not exact. */
export async function probeInt8Saturation(): Promise<boolean> {
  const session = await onnxRuntime().InferenceSession.create(int8ProbeModel(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const a = new (onnxRuntime().Tensor)('uint8', new Uint8Array(PROBE_M * PROBE_K).fill(255), [PROBE_M, PROBE_K]);
    const y = (await session.run({ a })).y!.data as Int32Array;
    const exact = 255 * 127 * PROBE_K;
    return !y.every((v) => v === exact);
  } finally {
    await session.release();
  }
}

/** `<smolvlm cache>/int8-kernels.json` (SMOLVLM_CACHE, else XDG_CACHE_HOME/smolvlm, else ~/.cache/smolvlm). */
export function defaultInt8CacheFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(path.dirname(defaultOptimizedGraphCacheDir(env)), 'int8-kernels.json');
}

/** What identifies "this machine" for the remembered answer: CPU model and flags, onnxruntime version. */
function machineKey(cpuinfo: string | undefined): string {
  const flags = cpuinfo === undefined ? '' : (/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '');
  const flagsHash = createHash('sha256').update(flags.trim()).digest('hex').slice(0, 12);
  return `${process.platform}-${process.arch} ${os.cpus()[0]?.model.trim() ?? 'unknown cpu'} flags:${flagsHash} onnxruntime ${onnxRuntime().env.versions.node ?? onnxRuntime().env.versions.common}`;
}

type Remembered = Record<string, { saturates: boolean }>;

function readRemembered(file: string): Remembered {
  try {
    const data: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const machines = (data as { machines?: unknown } | null)?.machines;
    if (typeof machines !== 'object' || machines === null) return {};
    const out: Remembered = {};
    for (const [key, value] of Object.entries(machines)) {
      const saturates = (value as { saturates?: unknown } | null)?.saturates;
      if (typeof saturates === 'boolean') out[key] = { saturates };
    }
    return out;
  } catch {
    return {}; // missing or unreadable: probe again
  }
}

/** Remembers the answer; a cache that cannot be written just means probing again next time. */
function remember(file: string, key: string, saturates: boolean): void {
  try {
    const machines = { ...readRemembered(file), [key]: { saturates } };
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ machines }, null, 2)}\n`);
    renameSync(tmp, file);
  } catch {
    // read-only home, full disk: not worth failing a model load for
  }
}

function readCpuinfo(): string | undefined {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return undefined; // not Linux
  }
}

function summarize(saturates: boolean, source: Int8KernelReport['source'], cpu: CpuInt8Kernel | undefined): string {
  const state = saturates ? 'saturating' : 'exact';
  if (source === 'override') return `${state} (${INT8_SATURATES_ENV})`;
  if (!cpu) return `${state} (${source === 'assumed' ? 'assumed' : 'measured'})`;
  return cpu.saturates === saturates ? `${state} (${cpu.name})` : `${state} (measured; CPU flags say ${cpu.name})`;
}

type Measured = { saturates: boolean; source: Int8KernelReport['source'] };

/** The remembered answer, else the probe's (remembered for next time), else the CPU flags'. */
async function measure(cacheFile: string | false, key: string, probe: () => Promise<boolean>, cpu: CpuInt8Kernel | undefined): Promise<Measured> {
  const known = cacheFile ? readRemembered(cacheFile)[key] : undefined;
  if (known) return { saturates: known.saturates, source: 'remembered' };
  try {
    const saturates = await probe();
    if (cacheFile) remember(cacheFile, key, saturates);
    return { saturates, source: 'probe' };
  } catch {
    // No probe (an onnxruntime build without MatMulInteger?): the flags, else assume the worst, which
    // only costs speed (uint8 is exact everywhere).
    return cpu ? { saturates: cpu.saturates, source: 'cpu-flags' } : { saturates: true, source: 'assumed' };
  }
}

/** The real probe's answer, once per process and cache file. */
const inProcess = new Map<string, Promise<Measured>>();

/** Whether int8 kernels saturate on this machine, and how that is known (see the module comment). */
export async function detectInt8Kernels(options: DetectInt8Options = {}): Promise<Int8KernelReport> {
  const env = options.env ?? process.env;
  const cpuinfo = options.cpuinfo === undefined ? readCpuinfo() : (options.cpuinfo ?? undefined);
  const cpu = cpuInt8Kernel(cpuinfo);
  const withCpu = cpu ? { cpu } : {};
  const forced = int8SaturatesOverride(env);
  if (forced !== undefined) return { saturates: forced, source: 'override', ...withCpu, summary: summarize(forced, 'override', cpu) };
  const cacheFile = options.cacheFile ?? defaultInt8CacheFile(env);
  const key = machineKey(cpuinfo);
  let pending = options.probe ? measure(cacheFile, key, options.probe, cpu) : inProcess.get(`${cacheFile || ''}|${key}`);
  if (!pending) {
    pending = measure(cacheFile, key, probeInt8Saturation, cpu);
    inProcess.set(`${cacheFile || ''}|${key}`, pending);
  }
  const { saturates, source } = await pending;
  return { saturates, source, ...withCpu, summary: summarize(saturates, source, cpu) };
}

import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { onnxRuntime } from './lazy-modules.js';
import { SmolVLMError } from './errors.js';
import { float16ArrayToFloat32, float32ArrayToFloat16 } from './float16.js';
import { createOptimizedSession, type GraphRewrite, type OptimizedSession } from './optimized-graph-cache.js';

export interface RuntimeOptions {
  /** Intra-op threads per session; default: the physical CPU cores this process may use (defaultThreadCount); at most the logical CPUs. */
  threads?: number;
  /**
   * Folder for prepared copies of model files (the decoder rewritten for last-position logits, and the
   * graphs as onnxruntime optimized them), made on first load; default `$SMOLVLM_CACHE/optimized`,
   * `$XDG_CACHE_HOME/smolvlm/optimized` or `~/.cache/smolvlm/optimized`. `false`: load the files as they are.
   */
  cacheDir?: string | false;
  /** Receives warnings about loading (e.g. more threads asked for than there are CPUs); the CLI prints them. */
  onWarning?: (message: string) => void;
}

export type FloatType = 'float32' | 'float16';

let threadCount: number | undefined;

/**
 * Intra-op threads by default: the physical cores this process may use. SMT siblings share one core's
 * vector units, so onnxruntime's own default is physical cores too; on Linux they are counted from
 * /proc (CPU affinity and a cgroup CPU quota respected), elsewhere the logical CPUs are used.
 */
export function defaultThreadCount(): number {
  threadCount ??= countThreads();
  return threadCount;
}

/**
 * The intra-op threads for a load: `requested`, but never more than the logical CPUs (more only
 * thrash: 1000 threads took 78 s to load), with a warning when capped; by default defaultThreadCount().
 */
export function intraOpThreads(requested: number | undefined, onWarning?: (message: string) => void, logicalCpus = os.availableParallelism()): number {
  if (requested === undefined) return defaultThreadCount();
  const cap = Math.max(1, logicalCpus);
  if (requested <= cap) return requested;
  onWarning?.(`${requested} threads asked for, but this machine has ${cap} logical CPU${cap === 1 ? '' : 's'}; using ${cap}`);
  return cap;
}

function countThreads(): number {
  const logical = Math.max(1, os.availableParallelism());
  if (process.platform !== 'linux') return logical;
  try {
    let limit = logical;
    const quota = /^(\d+)\s+(\d+)/.exec(readFileSync('/sys/fs/cgroup/cpu.max', { encoding: 'utf8', flag: 'r' }));
    if (quota) limit = Math.min(limit, Math.max(1, Math.floor(Number(quota[1]) / Number(quota[2]))));
    const allowedList = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    const allowed = allowedList ? cpuList(allowedList) : undefined;
    const cores = new Set<string>();
    for (const block of readFileSync('/proc/cpuinfo', 'utf8').split(/\n\s*\n/)) {
      const processor = /^processor\s*:\s*(\d+)/m.exec(block)?.[1];
      if (processor === undefined || (allowed && !allowed.has(Number(processor)))) continue;
      const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
      const socket = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1] ?? '0';
      cores.add(core === undefined ? `cpu${processor}` : `${socket}:${core}`);
    }
    return Math.max(1, Math.min(limit, cores.size > 0 ? cores.size : logical));
  } catch {
    return logical;
  }
}

/** `0-3,8,10-11` as a set of numbers. */
function cpuList(list: string): Set<number> {
  const set = new Set<number>();
  for (const part of list.split(',')) {
    const [from, to] = part.split('-').map(Number);
    if (from === undefined || Number.isNaN(from)) continue;
    for (let i = from; i <= (to ?? from); i++) set.add(i);
  }
  return set;
}

/**
 * Creates a session from a file path (so external data beside it resolves) through the optimized-graph
 * cache (optimized-graph-cache.ts: optional rewrite, saved optimized graph), with a clear error naming the file.
 */
export async function createSession(file: string, options: RuntimeOptions = {}, rewrite?: GraphRewrite): Promise<OptimizedSession> {
  try {
    return await createOptimizedSession(file, {
      intraOpNumThreads: options.threads ?? defaultThreadCount(),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
      ...(rewrite ? { rewrite } : {}),
    });
  } catch (error) {
    const reason = String((error as Error).message ?? error).split('\n')[0];
    throw new SmolVLMError('MODEL_INVALID', `cannot load ${path.basename(file)} (${file}): ${reason}`, { cause: error });
  }
}

type Metadata = { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] };

export function inputMetadata(session: ort.InferenceSession, name: string): Metadata | undefined {
  return (session.inputMetadata as readonly Metadata[]).find((m) => m.name === name);
}

export function outputMetadata(session: ort.InferenceSession, name: string): Metadata | undefined {
  return (session.outputMetadata as readonly Metadata[]).find((m) => m.name === name);
}

export function requireIO(session: ort.InferenceSession, file: string, inputs: string[], outputs: string[]): void {
  const missing = [
    ...inputs.filter((n) => !session.inputNames.includes(n)).map((n) => `input ${n}`),
    ...outputs.filter((n) => !session.outputNames.includes(n)).map((n) => `output ${n}`),
  ];
  if (missing.length > 0) {
    throw new SmolVLMError('MODEL_INVALID', `${path.basename(file)} does not have the SmolVLM interface (no ${missing.join(', ')})`);
  }
}

export function floatTypeOf(meta: Metadata | undefined, file: string): FloatType {
  const type = meta?.type ?? 'float32';
  if (type !== 'float32' && type !== 'float16') {
    throw new SmolVLMError('MODEL_INVALID', `${path.basename(file)}: ${meta?.name} has unsupported element type ${type}`);
  }
  return type;
}

/** A float32 array as a tensor of the element type a session expects. */
export function floatTensor(type: FloatType, data: Float32Array, dims: readonly number[]): ort.Tensor {
  return type === 'float32' ? new (onnxRuntime().Tensor)('float32', data, dims) : new (onnxRuntime().Tensor)('float16', float32ArrayToFloat16(data), dims);
}

/** A float tensor's values as float32 (a view when it already is float32). */
export function tensorToFloat32(tensor: ort.Tensor): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') return float16ArrayToFloat32(tensor.data as unknown as Uint16Array);
  throw new Error(`expected a float tensor, got ${tensor.type}`);
}

export function int64Tensor(values: BigInt64Array, dims: readonly number[]): ort.Tensor {
  return new (onnxRuntime().Tensor)('int64', values, dims);
}

/**
 * What a bug report needs to know about this installation: the versions of smolvlm, Node, onnxruntime,
 * sharp and libvips, the platform and the CPU, and how onnxruntime's int8 kernels behave here.
 * Loads onnxruntime and sharp (they report their own versions).
 */
import os from 'node:os';
import { int8KernelsLine } from './default-dtype.js';
import { detectInt8Kernels } from './int8-kernels.js';
import { onnxRuntime, sharpModule } from './lazy-modules.js';
import { packageVersion } from './version.js';

export interface EnvironmentReport {
  smolvlm: string;
  node: string;
  onnxruntime: string;
  sharp: string;
  libvips: string;
  platform: string;
  arch: string;
  cpu: string;
  cores: number;
  /** e.g. "int8 kernels: saturating (AVX2, no VNNI) → default uint8" */
  int8Kernels: string;
}

/** A version a module reports, or `unavailable (<why>)` when it cannot even be loaded. */
function versionOf(read: () => string | undefined): string {
  try {
    return read() ?? 'unknown';
  } catch (error) {
    return `unavailable (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
}

export async function environmentReport(): Promise<EnvironmentReport> {
  let int8Kernels: string;
  try {
    int8Kernels = int8KernelsLine(await detectInt8Kernels());
  } catch (error) {
    int8Kernels = `int8 kernels: unknown (${error instanceof Error ? error.message : String(error)})`;
  }
  return {
    smolvlm: packageVersion(),
    node: process.version,
    onnxruntime: versionOf(() => onnxRuntime().env.versions.node ?? onnxRuntime().env.versions.common),
    sharp: versionOf(() => sharpModule().versions.sharp),
    libvips: versionOf(() => sharpModule().versions.vips),
    platform: process.platform,
    arch: process.arch,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    int8Kernels,
  };
}

/** The report as lines for a terminal or a bug report. */
export function formatEnvironmentReport(report: EnvironmentReport): string {
  return [
    `smolvlm ${report.smolvlm}`,
    `Node.js ${report.node}`,
    `onnxruntime-node ${report.onnxruntime}`,
    `sharp ${report.sharp} (libvips ${report.libvips})`,
    `${report.platform}/${report.arch}, ${report.cores} cores, ${report.cpu}`,
    report.int8Kernels,
  ].join('\n');
}

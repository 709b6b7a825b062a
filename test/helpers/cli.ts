/** Spawns the built `smolvlm` binary (run `npm run build` first) and collects what it wrote. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './shared.js';

export const binPath = path.join(repoRoot, 'bin', 'smolvlm.js');

export interface CliResult {
  stdout: string;
  stderr: string;
  /** Exit code (null when killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliRunOptions {
  /** Bytes or text written to stdin, which is then closed (closed empty when absent). */
  stdin?: string | Uint8Array;
  /** Added to (or, with `undefined`, removed from) the environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kills the process (SIGKILL) after this long; default 60 s. */
  timeoutMs?: number;
  /** Called with each stdout chunk, e.g. to send a signal once output has started. */
  onStdout?: (chunk: string, child: ChildProcess) => void;
  /** Called once the process is started, e.g. to signal it when a file it writes has grown. */
  onSpawn?: (child: ChildProcess) => void;
}

/** A scratch directory for the test run's Hugging Face cache, so that no test ever reaches the network. */
const hubCache = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-cli-hub-'));

export function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, HF_HUB_CACHE: hubCache, HF_HUB_OFFLINE: '1' };
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  delete env.SMOLVLM_MODEL;
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], { cwd: options.cwd ?? repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(chunk, child);
    });
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    // The command may exit before reading stdin.
    child.stdin.on('error', () => {});
    child.stdin.end(options.stdin ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, signal });
    });
  });
}

/** Matches ANSI escape sequences (colours, cursor movement). */
export const ANSI_PATTERN = /\u001b\[[0-9;?]*[A-Za-z]/;

/** Writes a small solid-colour image with sharp (format from the extension) and returns its path. */
export async function writeTestImage(file: string, color: { r: number; g: number; b: number }, width = 96, height = 64): Promise<string> {
  const { default: sharp } = await import('sharp');
  await sharp({ create: { width, height, channels: 3, background: color } }).toFile(file);
  return file;
}

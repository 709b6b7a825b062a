/**
 * Startup: how long the commands that load no model take to start and exit, against a bare `node -e 0`.
 * Target: at most twice the bare Node time (onnxruntime, sharp and the tokenizer load only when a
 * command needs them; bin/smolvlm.js runs the bundle of `npm run build`, whose model-free commands
 * parse a fraction of the code). Each measurement is a fresh process; the commands alternate within
 * each run. The caches are empty scratch folders, so that `models` measures startup, not the size of
 * this machine's caches.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../fixture-model/index.js';

/** The light commands, as argument lists for bin/smolvlm.js (the model-free paths users hit first). */
export const STARTUP_COMMANDS: readonly (readonly string[])[] = [['--version'], ['--help'], ['help'], ['help', 'describe'], ['models'], ['models', '--available'], ['completion', 'bash']];

export interface StartupResult {
  command: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** medianMs over bare Node's median. */
  ratio: number;
}

function timeOnce(args: readonly string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: repoRoot, stdio: 'ignore', env });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${String(result.status)}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Runs every command `runs` times (after one warm-up each, for the file cache) and summarises. */
export function measureStartup(runs: number): StartupResult[] {
  const bin = path.join(repoRoot, 'bin', 'smolvlm.js');
  const commands = [['-e', '0'], ...STARTUP_COMMANDS.map((c) => [bin, ...c])];
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-startup-'));
  const env = { ...process.env, HF_HUB_CACHE: path.join(scratch, 'hub'), SMOLVLM_CACHE: path.join(scratch, 'smolvlm') };
  const times = commands.map(() => [] as number[]);
  try {
    for (const c of commands) timeOnce(c, env);
    for (let run = 0; run < runs; run++) commands.forEach((c, i) => times[i]!.push(timeOnce(c, env)));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const bare = median(times[0]!);
  return commands.map((c, i) => ({
    command: i === 0 ? 'node -e 0' : `smolvlm ${c.slice(1).join(' ')}`,
    medianMs: median(times[i]!),
    minMs: Math.min(...times[i]!),
    maxMs: Math.max(...times[i]!),
    ratio: median(times[i]!) / bare,
  }));
}

export function startupTable(results: readonly StartupResult[]): string {
  const rows = results.map((r) => `| \`${r.command}\` | ${r.medianMs.toFixed(0)} (${r.minMs.toFixed(0)}–${r.maxMs.toFixed(0)}) | ${r.ratio.toFixed(2)}x${r.ratio > 2 ? ' (over 2x)' : ''} |`);
  return ['| command | ms, median (min–max) | vs bare Node |', '|---|---|---|', ...rows].join('\n');
}

/** Runs `smolvlm serve` (the built binary) on a free port and hands back its URL, its log and a way to stop it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { binPath } from './cli.js';
import { repoRoot } from './shared.js';

export interface ServeProcess {
  /** `http://127.0.0.1:<port>` (loopback even when the server listens on 0.0.0.0). */
  url: string;
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** The request log lines so far (stderr lines after the address line). */
  logLines(): string[];
  /** Sends `signal` (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code once the process has exited (without signalling it). */
  exited: Promise<number | null>;
}

const hubCache = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-serve-hub-'));

/** Starts `smolvlm serve --port 0 <args>` on `model`; rejects with its stderr if it exits before listening. */
export function startServe(model: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<ServeProcess> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, HF_HUB_CACHE: hubCache, HF_HUB_OFFLINE: '1', ...env };
  delete childEnv.SMOLVLM_API_KEY;
  Object.assign(childEnv, env);
  const child = spawn(process.execPath, [binPath, 'serve', '--model', model, '--port', '0', ...args], { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = new Promise<ServeProcess>((resolve, reject) => {
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      const match = /serving .* at http:\/\/(\S+):(\d+) /.exec(stderr);
      if (!match) return;
      resolve({
        url: `http://127.0.0.1:${match[2]}`,
        child,
        stderr: () => stderr,
        logLines: () => stderr.split('\n').slice(1).filter((line) => line !== ''),
        stop: (signal = 'SIGTERM') => {
          child.kill(signal);
          return exited;
        },
        exited,
      });
    });
    void exited.then((code) => reject(new Error(`smolvlm serve exited (${code}) before listening:\n${stderr}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  void exited.then(() => clearTimeout(timer));
  return started;
}

/** The official client on a server, without retries (so that a 503 is seen as it is). */
export function client(server: Pick<ServeProcess, 'url'>, apiKey = 'none'): OpenAI {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
}

/** Waits (at most ~20 s) for a request log line that `matches`; returns it. */
export async function waitForLogLine(serve: ServeProcess, matches: (line: string) => boolean): Promise<string | undefined> {
  for (let i = 0; i < 400; i++) {
    const line = serve.logLines().findLast(matches);
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

/** Polls /health until `ready` says so (at most ~20 s); returns the last answer. */
export async function waitForHealth(url: string, ready: (health: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  let health: Record<string, unknown> = {};
  for (let i = 0; i < 400; i++) {
    health = (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>;
    if (ready(health)) return health;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return health;
}

import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SmolVLMError } from '../errors.js';

export type Env = Record<string, string | undefined>;

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

function get(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

function homeDir(env: Env): string {
  return get(env, 'HOME') ?? get(env, 'USERPROFILE') ?? os.homedir();
}

/** `~` and `~/x` expanded like Python's expanduser. */
export function expandHome(p: string, env: Env = process.env): string {
  if (p === '~') return homeDir(env);
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(homeDir(env), p.slice(2));
  return p;
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['1', 'on', 'yes', 'true', 'y'].includes(value.trim().toLowerCase());
}

/** `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. */
export function hfHome(env: Env = process.env): string {
  const home = get(env, 'HF_HOME');
  if (home) return path.resolve(expandHome(home, env));
  const xdg = get(env, 'XDG_CACHE_HOME');
  return path.resolve(xdg ? expandHome(xdg, env) : path.join(homeDir(env), '.cache'), 'huggingface');
}

/** Hub cache root, same precedence as huggingface_hub: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, then $HF_HOME/hub. */
export function hubCacheDir(env: Env = process.env): string {
  const explicit = get(env, 'HF_HUB_CACHE') ?? get(env, 'HUGGINGFACE_HUB_CACHE');
  if (explicit) return path.resolve(expandHome(explicit, env));
  return path.join(hfHome(env), 'hub');
}

export function hubEndpoint(env: Env = process.env): string {
  return (get(env, 'HF_ENDPOINT') ?? DEFAULT_ENDPOINT).trim().replace(/\/+$/, '');
}

export interface TokenInfo {
  token: string;
  source: 'HF_TOKEN' | 'HUGGING_FACE_HUB_TOKEN' | 'file';
  path?: string;
}

/** `$HF_TOKEN`, `$HUGGING_FACE_HUB_TOKEN`, else the file `$HF_TOKEN_PATH` (default `$HF_HOME/token`). */
export function hubToken(env: Env = process.env): TokenInfo | undefined {
  for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN'] as const) {
    const value = get(env, name);
    if (value) return { token: checkedToken(value.trim(), name), source: name };
  }
  const file = path.resolve(expandHome(get(env, 'HF_TOKEN_PATH') ?? path.join(hfHome(env), 'token'), env));
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  return token ? { token: checkedToken(token, `the token file ${file}`), source: 'file', path: file } : undefined;
}

/**
 * A token goes into an HTTP header, which cannot hold spaces, line breaks or other control characters
 * (fetch would refuse it with a message quoting the token, after retries): refused here, without
 * showing the token.
 */
function checkedToken(token: string, where: string): string {
  if (/^[\x21-\x7e]+$/.test(token)) return token;
  throw new SmolVLMError('USAGE', `${where} holds characters a Hugging Face token cannot have (a line break, a space or a non-ASCII character)`);
}

export function hubOffline(env: Env = process.env): boolean {
  return isTrue(get(env, 'HF_HUB_OFFLINE') ?? get(env, 'TRANSFORMERS_OFFLINE'));
}

/**
 * A time limit in seconds from the environment, in ms; unset or empty means the default. A value that is
 * not a positive number is refused with a usage error naming the variable (huggingface_hub refuses one
 * too), rather than silently using the default the user meant to change.
 */
function seconds(env: Env, name: string): number | undefined {
  const v = get(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n > 0) return n * 1000;
  throw new SmolVLMError('USAGE', `${name} must be a number of seconds greater than 0, got "${v}"`);
}

export interface HubEnvSettings {
  endpoint: string;
  token?: TokenInfo;
  cacheDir: string;
  offline: boolean;
  /** HF_HUB_ETAG_TIMEOUT (s): limit for metadata requests. */
  metadataTimeoutMs?: number;
  /** HF_HUB_DOWNLOAD_TIMEOUT (s): a download stalled this long is retried. */
  downloadTimeoutMs?: number;
}

/** Every environment variable the hub module honours, read in one place. */
export function hubSettingsFromEnv(env: Env = process.env): HubEnvSettings {
  const token = hubToken(env);
  const metadataTimeoutMs = seconds(env, 'HF_HUB_ETAG_TIMEOUT');
  const downloadTimeoutMs = seconds(env, 'HF_HUB_DOWNLOAD_TIMEOUT');
  return {
    endpoint: hubEndpoint(env),
    ...(token ? { token } : {}),
    cacheDir: hubCacheDir(env),
    offline: hubOffline(env),
    ...(metadataTimeoutMs ? { metadataTimeoutMs } : {}),
    ...(downloadTimeoutMs ? { downloadTimeoutMs } : {}),
  };
}

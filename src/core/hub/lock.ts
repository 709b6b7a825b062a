/*
 * Cross-process lock on one blob: an exclusively created lock file holding the owner's pid, host and a random
 * token. A lock whose pid is dead on this host is stale and taken over; so is one not refreshed (the holder
 * touches it periodically) for `staleMs`, which also covers other hosts and reused pids.
 * Not interoperable with huggingface_hub's flock() on the same path; the checksum verification before a blob is
 * published is what guarantees no corrupt blob even if two writers ever overlap.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SmolVLMError } from '../errors.js';
import { sleep, throwIfAborted } from './http.js';

export interface LockOptions {
  signal?: AbortSignal;
  /** How often a waiter checks the lock (default 200 ms). */
  pollMs?: number;
  /** A lock not refreshed for this long is stale (default 5 min); the holder refreshes it every staleMs / 4. */
  staleMs?: number;
  /** Called once when the lock is held by someone else and we start waiting. */
  onWait?: (holder: LockHolder | undefined) => void;
}

export interface LockHolder {
  pid: number;
  hostname: string;
  token: string;
  createdAt: string;
}

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

/** A lock file with no readable owner younger than this is being written; older, it is a leftover. */
const UNREADABLE_GRACE_MS = 2000;

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.hostname === 'string' && typeof v.token === 'string') return v as LockHolder;
  } catch {
    // empty (another tool's lock file) or half written
  }
  return undefined;
}

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isStale(text: string, mtimeMs: number, staleMs: number): boolean {
  const age = Date.now() - mtimeMs;
  const holder = parseHolder(text);
  if (!holder) return age > UNREADABLE_GRACE_MS;
  if (holder.hostname === os.hostname() && !isPidAlive(holder.pid)) return true;
  return age > staleMs;
}

async function readLock(lockPath: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([fs.readFile(lockPath, 'utf8'), fs.stat(lockPath)]);
    return { text, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/**
 * Moves a stale lock aside. If, between our read and the rename, someone else replaced it with a live lock, that
 * one is put back (link() refuses to overwrite a newer lock).
 */
async function takeOver(lockPath: string, staleText: string): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.rename(lockPath, aside);
  } catch {
    return;
  }
  const moved = await fs.readFile(aside, 'utf8').catch(() => staleText);
  if (moved !== staleText) await fs.link(aside, lockPath).catch(() => undefined);
  await fs.rm(aside, { force: true });
}

export async function acquireLock(lockPath: string, options: LockOptions = {}): Promise<Lock> {
  const pollMs = options.pollMs ?? 200;
  const staleMs = options.staleMs ?? 5 * 60_000;
  const holder: LockHolder = {
    pid: process.pid,
    hostname: os.hostname(),
    token: randomBytes(8).toString('hex'),
    createdAt: new Date().toISOString(),
  };
  const content = JSON.stringify(holder);
  await fs.mkdir(path.dirname(lockPath), { recursive: true });
  let waiting = false;
  for (;;) {
    throwIfAborted(options.signal);
    try {
      const fh = await fs.open(lockPath, 'wx');
      try {
        await fh.writeFile(content);
      } finally {
        await fh.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = await readLock(lockPath);
    if (!current) continue;
    if (isStale(current.text, current.mtimeMs, staleMs)) {
      await takeOver(lockPath, current.text);
      continue;
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.(parseHolder(current.text));
    }
    await sleep(pollMs, options.signal);
  }

  const heartbeat = setInterval(() => {
    const now = new Date();
    fs.utimes(lockPath, now, now).catch(() => undefined);
  }, Math.max(50, Math.floor(staleMs / 4)));
  heartbeat.unref();

  let released = false;
  return {
    path: lockPath,
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      // only remove the file if it is still ours (it may have been taken over after a long suspension)
      const current = await readLock(lockPath);
      if (current?.text === content) await fs.rm(lockPath, { force: true });
    },
  };
}

/** Live locks under a repo's lock folder (used to refuse removing a repo that is being downloaded). */
export async function liveLocks(locksDir: string, staleMs = 5 * 60_000): Promise<LockHolder[]> {
  let names: string[];
  try {
    names = await fs.readdir(locksDir);
  } catch {
    return [];
  }
  const live: LockHolder[] = [];
  for (const name of names.filter((n) => n.endsWith('.lock'))) {
    const current = await readLock(path.join(locksDir, name));
    if (!current || isStale(current.text, current.mtimeMs, staleMs)) continue;
    const holder = parseHolder(current.text);
    if (holder) live.push(holder);
  }
  return live;
}

/** A runtime condition, not a usage error: the same command works once the download has finished. */
export function lockBusyError(what: string, holders: LockHolder[]): SmolVLMError {
  const who = holders.map((h) => `pid ${h.pid}${h.hostname === os.hostname() ? '' : ` on ${h.hostname}`}`).join(', ');
  return new SmolVLMError('CACHE_BUSY', `${what} is being downloaded by ${who}; try again when it has finished`);
}

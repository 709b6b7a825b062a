/** Shared set-up of the hub tests: a fake hub, a temp cache root and fast retry/lock settings. */
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HubOptions } from '../../src/core/hub/index.js';
import { FakeHub, type FakeHubOptions } from './fake-hub.js';

export interface HubTestEnv {
  hub: FakeHub;
  cacheDir: string;
  /** Options pointing at the fake hub and the temp cache, ignoring the real environment. */
  opts(extra?: HubOptions): HubOptions;
  repoDir(repo: string): string;
  close(): Promise<void>;
}

export async function hubTestEnv(options: FakeHubOptions): Promise<HubTestEnv> {
  const hub = await FakeHub.start(options);
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-hub-'));
  return {
    hub,
    cacheDir,
    opts: (extra = {}) => ({
      endpoint: hub.url,
      cacheDir,
      env: {},
      retry: { retries: 3, minDelayMs: 1, maxDelayMs: 5 },
      lock: { pollMs: 10 },
      ...extra,
    }),
    repoDir: (repo) => path.join(cacheDir, `models--${repo.replace('/', '--')}`),
    close: async () => {
      await hub.close();
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch {
    return [];
  }
}

/**
 * Prompt caches shared by a server's requests. A chat client re-sends the whole conversation with
 * each question; the pool hands a request the idle cache whose conversation its prompt extends, so
 * that only the new tokens are prefilled. A cache belongs to one request at a time (generation
 * rewrites it). Idle caches are dropped least recently used first, beyond a count and a memory budget.
 */
import { PromptCache, type ImageSpan } from '../generation/prompt-cache.js';

export interface CachePoolOptions {
  /** Most caches kept (default 4). */
  maxEntries?: number;
  /** Most bytes of KV cache kept by idle caches together (default 1 GiB). */
  maxBytes?: number;
}

export const DEFAULT_PROMPT_CACHES = 4;
export const DEFAULT_PROMPT_CACHE_BYTES = 1024 ** 3;

interface Entry {
  readonly cache: PromptCache;
  busy: boolean;
  lastUsed: number;
}

export class PromptCachePool {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly #entries: Entry[] = [];
  #clock = 0;

  constructor(options: CachePoolOptions = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_PROMPT_CACHES;
    this.maxBytes = options.maxBytes ?? DEFAULT_PROMPT_CACHE_BYTES;
  }

  /** Caches held, idle or in use. */
  get size(): number {
    return this.#entries.length;
  }

  /** Bytes held by all caches. */
  get bytes(): number {
    return this.#entries.reduce((n, e) => n + cacheBytes(e.cache), 0);
  }

  /**
   * A cache for a prompt of `ids` with images at `spans`, for the caller alone until release(): the
   * idle cache holding the longest prefix of it, when that prefix is at least half of what the cache
   * holds (the prompt continues its conversation; llama.cpp's slots use the same 0.5 similarity), else
   * a new one, so that a new conversation sharing only a system prompt does not overwrite another's.
   */
  acquire(ids: readonly number[], spans: readonly ImageSpan[]): PromptCache {
    let best: Entry | undefined;
    let bestPrefix = 0;
    for (const entry of this.#entries) {
      if (entry.busy) continue;
      const prefix = entry.cache.reusablePrefix(ids, spans);
      if (prefix > bestPrefix && prefix * 2 >= entry.cache.length) {
        best = entry;
        bestPrefix = prefix;
      }
    }
    if (!best) {
      if (this.#entries.length >= this.maxEntries) this.#dropOldestIdle();
      best = { cache: new PromptCache(), busy: false, lastUsed: 0 };
      this.#entries.push(best);
    }
    best.busy = true;
    return best.cache;
  }

  /** Gives a cache back once its request has finished (or failed): kept for a follow-up unless empty or over budget. */
  release(cache: PromptCache): void {
    const entry = this.#entries.find((e) => e.cache === cache);
    if (!entry) return;
    entry.busy = false;
    entry.lastUsed = ++this.#clock;
    if (cache.length === 0) this.#remove(entry);
    while (this.#entries.length > this.maxEntries || this.#idleBytes() > this.maxBytes) {
      if (!this.#dropOldestIdle()) break;
    }
  }

  #idleBytes(): number {
    return this.#entries.reduce((n, e) => n + (e.busy ? 0 : cacheBytes(e.cache)), 0);
  }

  #dropOldestIdle(): boolean {
    let oldest: Entry | undefined;
    for (const entry of this.#entries) if (!entry.busy && (!oldest || entry.lastUsed < oldest.lastUsed)) oldest = entry;
    if (oldest) this.#remove(oldest);
    return oldest !== undefined;
  }

  #remove(entry: Entry): void {
    this.#entries.splice(this.#entries.indexOf(entry), 1);
    entry.cache.clear();
  }
}

/** The memory a prompt cache's KV tensors take (their growable buffers when the decoder appends in place). */
export function cacheBytes(cache: PromptCache): number {
  const kv = cache.kv;
  if (!kv) return 0;
  let bytes = 0;
  if (kv.buffers) {
    for (const buffer of kv.buffers.values()) bytes += buffer.byteLength;
    return bytes;
  }
  for (const tensor of kv.tensors.values()) if (ArrayBuffer.isView(tensor.data)) bytes += tensor.data.byteLength;
  return bytes;
}

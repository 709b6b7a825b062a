/**
 * JSON lines out: to a file, appended one complete line per write call and synced to disk at least
 * every second and at close, so that a `kill -9` (or a power cut, up to the last second) leaves at most
 * one truncated last line; or to a stream (stdout), honouring back-pressure.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Where records go. `append` resolves once the line is written (for a file: handed to the OS). */
export interface RecordSink {
  append(record: unknown): Promise<void>;
  close(): Promise<void>;
}

/** Syncs at least this often while lines are being appended. */
export const DEFAULT_SYNC_INTERVAL_MS = 1000;

export interface JsonlFileOptions {
  /** Empty the file first (default: append to what is there). */
  truncate?: boolean;
  syncIntervalMs?: number;
}

function jsonLine(record: unknown): Buffer {
  // JSON.stringify escapes every line break inside strings, so one record is always one line.
  return Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
}

/** A JSON-lines file opened for appending. Operations run one at a time, in order. */
export class JsonlFileWriter implements RecordSink {
  readonly path: string;
  readonly #handle: FileHandle;
  readonly #syncIntervalMs: number;
  #tail: Promise<void> = Promise.resolve();
  /** The first write or sync error: after it nothing more is written (a later line could follow a broken one). */
  #failure: unknown;
  #syncTimer: NodeJS.Timeout | undefined;
  #dirty = false;
  #closed = false;

  private constructor(file: string, handle: FileHandle, syncIntervalMs: number) {
    this.path = file;
    this.#handle = handle;
    this.#syncIntervalMs = syncIntervalMs;
  }

  static async open(file: string, options: JsonlFileOptions = {}): Promise<JsonlFileWriter> {
    // O_APPEND: every write lands at the end, whatever else has the file open.
    const handle = await open(file, options.truncate ? 'w' : 'a');
    return new JsonlFileWriter(file, handle, options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS);
  }

  #enqueue(operation: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(() => {
      if (this.#failure !== undefined) throw this.#failure;
      return operation();
    });
    this.#tail = run.catch((error: unknown) => {
      this.#failure ??= error;
    });
    return run;
  }

  async #writeAll(bytes: Buffer): Promise<void> {
    // One write call per line; the loop only continues after a short write (a full disk, a signal).
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await this.#handle.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
    this.#dirty = true;
  }

  async #sync(): Promise<void> {
    if (!this.#dirty) return;
    this.#dirty = false;
    await this.#handle.sync();
  }

  #scheduleSync(): void {
    if (this.#syncTimer) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      // A failure is kept in #failure and reported by the next append or close.
      this.#enqueue(() => this.#sync()).catch(() => {});
    }, this.#syncIntervalMs);
    this.#syncTimer.unref();
  }

  append(record: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.path} is closed`));
    const line = jsonLine(record);
    const written = this.#enqueue(() => this.#writeAll(line));
    this.#scheduleSync();
    return written;
  }

  /** Waits for pending lines, syncs and closes; reports the first write error, if any. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#syncTimer);
    try {
      await this.#enqueue(() => this.#sync());
    } finally {
      await this.#handle.close();
    }
  }
}

/** JSON lines to a stream such as stdout; close() does not end the stream. */
export class JsonlStreamWriter implements RecordSink {
  readonly #stream: Writable;
  #tail: Promise<void> = Promise.resolve();

  constructor(stream: Writable) {
    this.#stream = stream;
  }

  append(record: unknown): Promise<void> {
    const line = jsonLine(record);
    const run = this.#tail.then(async () => {
      if (!this.#stream.write(line)) await once(this.#stream, 'drain');
    });
    this.#tail = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    await this.#tail;
  }
}

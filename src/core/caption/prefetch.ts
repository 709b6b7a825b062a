/**
 * A prefetching image reader: images are read, decoded (sharp) and resized and tiled (the
 * Pillow-exact Lanczos, plain JavaScript) on a worker thread, ahead of the model. A caption run asks
 * for a few images ahead (its bounded prefetch queue), so the main thread, which drives the decoder
 * step by step, never stalls for the tens to hundreds of milliseconds one photo's resize takes.
 */
import { Worker } from 'node:worker_threads';
import { SmolVLMError, type ErrorCode } from '../errors.js';
import { readImageSource } from '../image/source.js';
import { preparePixels, type PixelOptions } from './prepare.js';
import type { PrefetchJob, PrefetchReply, PrefetchWorkerData } from './prefetch-protocol.js';
import type { CaptionImage, ImageReader } from './types.js';

export interface PrefetchReaderOptions extends PixelOptions {
  /** Byte cap per image (default: the image loader's, 50 MiB). */
  maxBytes?: number;
  /** Decode on the calling thread instead of a worker (for measurements; the result is the same). */
  inThread?: boolean;
}

interface Pending {
  path: string;
  resolve: (image: CaptionImage) => void;
  reject: (error: unknown) => void;
}

const FROM_SOURCES = import.meta.url.endsWith('.ts');

/**
 * The worker, from the compiled dist/ (prefetch-worker.js; in the CLI bundle, dist/bundle/, an entry
 * of its own beside the chunk that starts it), or from the TypeScript sources when this
 * module runs under tsx (tests, scripts): Node 20 does not pass `--import tsx` on to workers, so a
 * two-line bootstrap registers tsx in the worker before importing the .ts file.
 */
function startWorker(workerData: PrefetchWorkerData): Worker {
  if (!FROM_SOURCES) return new Worker(new URL('./prefetch-worker.js', import.meta.url), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./prefetch-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

function cancelled(path: string): SmolVLMError {
  return new SmolVLMError('ABORTED', `reading ${path} was cancelled`);
}

/** Reads images with their tiles ready (`CaptionImage.pixels`), on one worker thread started on first use. */
export class PrefetchingImageReader implements ImageReader {
  readonly #options: PrefetchReaderOptions;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #nextId = 1;

  constructor(options: PrefetchReaderOptions) {
    this.#options = options;
  }

  async read(path: string, signal: AbortSignal): Promise<CaptionImage> {
    if (signal.aborted) throw cancelled(path);
    if (this.#options.inThread) {
      const { bytes, format } = await readImageSource(path, { signal, maxBytes: this.#options.maxBytes });
      return { path, bytes, format, pixels: await preparePixels(bytes, path, this.#options) };
    }
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise<CaptionImage>((resolve, reject) => {
      // On abort the promise settles at once; the worker's late answer finds no entry and is dropped.
      const onAbort = () => this.#settle(id, () => reject(cancelled(path)));
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        path,
        resolve: (image) => (signal.removeEventListener('abort', onAbort), resolve(image)),
        reject: (error) => (signal.removeEventListener('abort', onAbort), reject(error)),
      });
      worker.ref();
      const job: PrefetchJob = { id, path };
      worker.postMessage(job);
    });
  }

  /** Stops the worker; reads still pending are rejected (ABORTED). */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failAll((pending) => cancelled(pending.path));
    if (worker) await worker.terminate();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const data: PrefetchWorkerData = {
      pixels: { processor: this.#options.processor, maxPixels: this.#options.maxPixels },
      maxBytes: this.#options.maxBytes,
    };
    const worker = startWorker(data);
    worker.on('message', (reply: PrefetchReply) => this.#onReply(reply));
    const lost = (why: string) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#failAll((pending) => new SmolVLMError('IMAGE_INVALID', `cannot prepare ${pending.path}: the image worker ${why}`));
    };
    worker.on('error', (error) => lost(`failed (${error.message})`));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    // An idle worker does not keep the process alive; a pending read refs it again.
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  #settle(id: number, action: (pending: Pending) => void): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker?.unref();
    action(pending);
  }

  #onReply(reply: PrefetchReply): void {
    this.#settle(reply.id, (pending) => {
      if (reply.ok) pending.resolve({ path: pending.path, bytes: reply.bytes, format: reply.format, pixels: reply.pixels });
      else pending.reject(reply.code === 'INTERNAL' ? new Error(reply.message) : new SmolVLMError(reply.code as ErrorCode, reply.message));
    });
  }

  #failAll(error: (pending: Pending) => unknown): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, (pending) => pending.reject(error(pending)));
  }
}

/**
 * The prefetch worker thread: reads, sniffs, decodes and tiles images one at a time, as the main
 * thread asks (prefetch.ts), and hands the tiles back without copying them (transferred buffers).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isSmolVLMError } from '../errors.js';
import { readImageSource } from '../image/source.js';
import { preparePixels } from './prepare.js';
import type { PrefetchJob, PrefetchReply, PrefetchWorkerData } from './prefetch-protocol.js';

const settings = workerData as PrefetchWorkerData;
const port = parentPort!;

/** A buffer that can be transferred: the whole of its own ArrayBuffer (never a slice of Node's pool). */
function ownedBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

async function handle(job: PrefetchJob): Promise<void> {
  try {
    const loaded = await readImageSource(job.path, { maxBytes: settings.maxBytes });
    const pixels = await preparePixels(loaded.bytes, job.path, settings.pixels);
    const bytes = ownedBytes(loaded.bytes);
    const reply: PrefetchReply = { id: job.id, ok: true, bytes, format: loaded.format, pixels };
    port.postMessage(reply, [bytes.buffer as ArrayBuffer, pixels.pixelValues.buffer as ArrayBuffer]);
  } catch (error) {
    const code = isSmolVLMError(error) ? error.code : 'INTERNAL';
    const reply: PrefetchReply = { id: job.id, ok: false, code, message: error instanceof Error ? error.message : String(error) };
    port.postMessage(reply);
  }
}

// One image at a time: the main thread bounds how many it asks for ahead, this bounds the memory in flight.
let queue: Promise<void> = Promise.resolve();
port.on('message', (job: PrefetchJob) => {
  queue = queue.then(() => handle(job));
});

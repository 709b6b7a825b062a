/** Messages between the prefetching reader (prefetch.ts) and its worker thread (prefetch-worker.ts). */
import type { ImageFormat } from '../image/sniff.js';
import type { PixelOptions, PreparedPixels } from './prepare.js';

export interface PrefetchWorkerData {
  pixels: PixelOptions;
  maxBytes?: number;
}

export interface PrefetchJob {
  id: number;
  path: string;
}

export type PrefetchReply =
  | { id: number; ok: true; bytes: Uint8Array; format: ImageFormat; pixels: PreparedPixels }
  | { id: number; ok: false; code: string; message: string };

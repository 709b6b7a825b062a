/**
 * The vision encoder, its session created on first use. A text-only request never needs it, and its
 * session is the second largest (about a fifth of a one-shot text answer's load time at 256M, and its
 * memory). A request with images starts creating it when it begins (SmolVLM.startRequest), so that
 * the creation, which onnxruntime-node does synchronously on the main thread, overlaps the image
 * being read and decoded on libuv's threads.
 */
import { VisionEncoder } from './encoders.js';
import type { ChatMessage } from './prompt.js';
import type { RuntimeOptions } from './runtime.js';

export class LazyVisionEncoder {
  #loading: Promise<VisionEncoder> | undefined;
  #loaded: VisionEncoder | undefined;

  constructor(
    readonly file: string,
    private readonly options: RuntimeOptions,
  ) {}

  /** The encoder once its session exists (undefined before the first image). */
  get loaded(): VisionEncoder | undefined {
    return this.#loaded;
  }

  /** Creates the session unless it exists or is being created; a failed creation is tried again next time. */
  ready(): Promise<VisionEncoder> {
    this.#loading ??= VisionEncoder.load(this.file, this.options).then(
      (encoder) => (this.#loaded = encoder),
      (error: unknown) => {
        this.#loading = undefined;
        throw error;
      },
    );
    return this.#loading;
  }

  /** Starts creating the session without waiting for it (a failure is reported by the encode that needs it). */
  prepare(): void {
    this.ready().catch(() => {});
  }

  /** VisionEncoder.encode, once the session exists. */
  async encode(pixelValues: Float32Array, tiles: number, tileSize: number, tilesPerCall = 0): Promise<Float32Array> {
    return (await this.ready()).encode(pixelValues, tiles, tileSize, tilesPerCall);
  }
}

/** Whether any message has an image or a video part (the request will need the vision encoder). */
export function hasMedia(messages: readonly ChatMessage[]): boolean {
  return messages.some((m) => Array.isArray(m.content) && m.content.some((part) => part.type !== 'text'));
}

/**
 * The seam between the server and the model: whatever turns a GenerateRequest into a TextStream.
 * The batched scheduler (several sequences per decoder call) has this shape; until it is wired in,
 * SequentialEngine runs one request at a time and keeps the others waiting in order.
 */
import { cancelledError } from '../errors.js';
import type { SmolVLM } from '../model.js';
import { TextStream } from '../generation/stream.js';
import type { GenerateRequest, GenerationResult } from '../generation/types.js';

export interface GenerationEngine {
  /** Same semantics as SmolVLM.generate: the request's signal and prompt cache are honoured. */
  generate(request: GenerateRequest): TextStream<GenerationResult>;
  /** Requests being generated now. */
  readonly active: number;
  /** Requests handed over but not started yet. */
  readonly waiting: number;
  /** Ends the engine (the server calls it once all requests have finished). */
  close(): void;
}

/** Runs requests one after the other on the model, first come first served. */
export class SequentialEngine implements GenerationEngine {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly model: Pick<SmolVLM, 'generate'>) {}

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  generate(request: GenerateRequest): TextStream<GenerationResult> {
    return new TextStream(async (emit) => {
      await this.#turn(request.signal);
      try {
        const stream = this.model.generate(request);
        for await (const piece of stream) emit(piece);
        return await stream.result;
      } finally {
        this.#active--;
        this.#waiting.shift()?.();
      }
    });
  }

  close(): void {}

  /** Resolves when this request may run (at once when none runs); a request aborted while waiting leaves the line. */
  #turn(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(cancelledError('generation', signal));
    if (this.#active === 0 && this.#waiting.length === 0) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const start = () => {
        signal?.removeEventListener('abort', leave);
        this.#active++;
        resolve();
      };
      const leave = () => {
        const at = this.#waiting.indexOf(start);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(cancelledError('generation', signal));
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.#waiting.push(start);
    });
  }
}

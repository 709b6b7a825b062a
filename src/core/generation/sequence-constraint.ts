import type { JsonConstraint } from '../structured/index.js';

/**
 * A JsonConstraint as a decode sequence drives it: the mask is applied synchronously before sampling
 * (so a scheduler's synchronous `accept` keeps working), and the advance past the chosen token (the
 * engine's accept + next mask) runs as a pending step that `settled()` waits for.
 *
 * Why not overlap that step with the next forward pass: onnxruntime-node 1.30 runs a session
 * synchronously on the main thread (inside a setImmediate), so nothing JavaScript does can run
 * beside it. The step's work happens in microtasks right after `advance`, before any decoder run
 * starts; waiting for it before the next forward lets a complete document stop without an extra run.
 */
export class SequenceConstraint {
  readonly #constraint: JsonConstraint;
  #pending: Promise<void> | undefined;
  #error: unknown;

  constructor(constraint: JsonConstraint) {
    this.#constraint = constraint;
  }

  /** Masks the logits of every token that cannot come next. Throws the last step's error, if any. */
  mask(logits: Float32Array): void {
    this.#throwIfFailed();
    if (this.#pending) throw new Error('the JSON constraint is still advancing (await settled() before the next step)');
    this.#constraint.maskLogits(logits);
  }

  /** Starts advancing past `tokenId` (sampled from masked logits). */
  advance(tokenId: number): void {
    this.#pending = this.#constraint.accept(tokenId).then(
      () => {
        this.#pending = undefined;
      },
      (error: unknown) => {
        this.#error = error;
        this.#pending = undefined;
      },
    );
  }

  /** Waits for the pending step; throws its error. */
  async settled(): Promise<void> {
    await this.#pending;
    this.#throwIfFailed();
  }

  /** The text so far is a complete document (valid once settled). */
  canEnd(): boolean {
    return this.#constraint.canEnd();
  }

  /** Nothing but an end-of-sequence token may follow (valid once settled). */
  get isComplete(): boolean {
    return this.#pending === undefined && this.#error === undefined && this.#constraint.isComplete;
  }

  #throwIfFailed(): void {
    if (this.#error !== undefined) throw this.#error;
  }
}

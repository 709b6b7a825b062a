/**
 * A stream of text pieces with a final result. Production starts at once and is buffered, so a caller
 * may iterate the pieces, await `result` alone, or both.
 */
export class TextStream<R> implements AsyncIterable<string> {
  readonly result: Promise<R>;
  readonly #pieces: string[] = [];
  #done = false;
  #error: unknown;
  #wake: (() => void) | undefined;

  constructor(produce: (emit: (piece: string) => void) => Promise<R>) {
    const emit = (piece: string) => {
      if (piece === '') return;
      this.#pieces.push(piece);
      this.#notify();
    };
    this.result = produce(emit).then(
      (value) => {
        this.#done = true;
        this.#notify();
        return value;
      },
      (error: unknown) => {
        this.#done = true;
        this.#error = error;
        this.#notify();
        throw error;
      },
    );
    // Iterating callers see the error there; do not also report it as unhandled.
    this.result.catch(() => {});
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      if (this.#pieces.length > 0) {
        yield this.#pieces.shift()!;
        continue;
      }
      if (this.#done) {
        if (this.#error !== undefined) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** The whole text, once generation has finished. */
  async text(): Promise<string> {
    let text = '';
    for await (const piece of this) text += piece;
    return text;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

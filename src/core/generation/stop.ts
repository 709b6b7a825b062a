/**
 * Passes text through while watching for stop strings: holds back just enough characters that a stop
 * string split across pieces is still caught, and never emits the stop string itself.
 */
export class StopStringFilter {
  #full = '';
  #emitted = 0;
  #stopped = false;
  readonly #holdBack: number;

  constructor(
    readonly stops: readonly string[],
    readonly emit: (piece: string) => void,
  ) {
    this.#holdBack = Math.max(0, ...stops.map((s) => s.length - 1));
  }

  get text(): string {
    return this.#full.slice(0, this.#emitted);
  }

  /** Adds text; returns true when a stop string was found (the text before it is emitted). */
  push(piece: string): boolean {
    if (this.#stopped || piece === '') return this.#stopped;
    const searchFrom = Math.max(0, this.#full.length - this.#holdBack);
    this.#full += piece;
    let cut = -1;
    for (const stop of this.stops) {
      if (stop === '') continue;
      const at = this.#full.indexOf(stop, searchFrom);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.#full = this.#full.slice(0, cut);
      this.#flushTo(cut);
      this.#stopped = true;
      return true;
    }
    this.#flushTo(this.#full.length - this.#holdBack);
    return false;
  }

  end(): void {
    this.#flushTo(this.#full.length);
  }

  #flushTo(end: number): void {
    // Never end a piece between the two halves of a surrogate pair.
    const last = this.#full.charCodeAt(end - 1);
    if (end < this.#full.length && last >= 0xd800 && last <= 0xdbff) end--;
    if (end <= this.#emitted) return;
    this.emit(this.#full.slice(this.#emitted, end));
    this.#emitted = end;
  }
}

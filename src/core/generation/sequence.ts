import type { KvCache } from '../decoder.js';
import type { JsonConstraint } from '../structured/index.js';
import { StreamingDecoder, type TextTokenizer } from '../tokenizer.js';
import { Sampler, type SamplingOptions } from './sampling.js';
import { SequenceConstraint } from './sequence-constraint.js';
import { StopStringFilter } from './stop.js';
import type { FinishReason } from './types.js';

export interface SequenceOptions {
  /** The prompt's ids (the repetition penalty looks at them besides the generated ones). */
  prompt: readonly number[];
  /** The sequence's KV cache, holding the prompt; each decode step adds one position. */
  kv: KvCache;
  tokenizer: TextTokenizer;
  maxNewTokens: number;
  contextLength: number;
  eosTokenIds: readonly number[];
  stop?: readonly string[];
  sampling?: SamplingOptions;
  signal?: AbortSignal;
  /** Receives the answer's text pieces (the sequence's stream). */
  emit: (piece: string) => void;
  onToken?: (id: number) => void;
  /** Structured output: only tokens that keep the answer a prefix of a valid document (the caller disposes it). */
  constraint?: JsonConstraint;
}

/**
 * One sequence being decoded: its KV cache and generated ids, its sampler, stop-string matcher and
 * text stream. It holds no model: the sessions are shared, so a decoder that steps several sequences
 * together keeps one DecodeSequence per sequence and feeds each its logits through `accept`.
 */
export class DecodeSequence {
  /** The generated ids. */
  readonly ids: number[] = [];
  readonly kv: KvCache;
  readonly #options: SequenceOptions;
  readonly #sampler: Sampler;
  readonly #eos: ReadonlySet<number>;
  readonly #text: StopStringFilter;
  readonly #pieces: StreamingDecoder;
  readonly #constraint: SequenceConstraint | undefined;
  readonly #started = performance.now();
  #firstTokenMs = 0;
  #decodeMs = 0;
  #finishReason: FinishReason | undefined;

  constructor(options: SequenceOptions) {
    this.#options = options;
    this.kv = options.kv;
    this.#sampler = new Sampler(options.sampling, options.prompt);
    this.#eos = new Set(options.eosTokenIds);
    this.#text = new StopStringFilter(options.stop ?? [], options.emit);
    this.#pieces = new StreamingDecoder(options.tokenizer);
    this.#constraint = options.constraint && new SequenceConstraint(options.constraint);
  }

  /** Why the sequence ended; undefined while it goes on. */
  get finishReason(): FinishReason | undefined {
    return this.#finishReason;
  }

  get finished(): boolean {
    return this.#finishReason !== undefined;
  }

  /** The last generated id: the next decode step's input. */
  get lastId(): number {
    const id = this.ids.at(-1);
    if (id === undefined) throw new Error('the sequence has no token yet');
    return id;
  }

  /** The answer so far (without a stop string). */
  get text(): string {
    return this.#text.text;
  }

  /** ms from the start to the first token (sampling the prefill's logits). */
  get firstTokenMs(): number {
    return this.#firstTokenMs;
  }

  /** ms spent on the tokens after the first (set by `end`). */
  get decodeMs(): number {
    return this.#decodeMs;
  }

  /**
   * Picks the next token from the logits of the sequence's last position (`logits` may be modified),
   * streams its text, and ends the sequence on an abort, an end token, a stop string, maxNewTokens
   * or a full context. With a constraint, the logits are masked first (before the repetition penalty
   * and sampling), and a complete document ends the sequence.
   */
  accept(logits: Float32Array): void {
    if (this.finished) throw new Error('the sequence has finished');
    const { signal, maxNewTokens, contextLength } = this.#options;
    if (signal?.aborted) return this.#finish('aborted');
    if (this.#constraint?.isComplete) return this.#finish('eos');
    this.#constraint?.mask(logits);
    const id = this.#sampler.next(logits);
    this.ids.push(id);
    if (this.ids.length === 1) this.#firstTokenMs = performance.now() - this.#started;
    this.#options.onToken?.(id);
    if (this.#eos.has(id)) return this.#finish('eos');
    this.#constraint?.advance(id);
    if (this.#text.push(this.#pieces.push(id))) return this.#finish('stop');
    if (this.ids.length >= maxNewTokens) return this.#finish('length');
    if (this.kv.length + 1 > contextLength) return this.#finish('context');
  }

  /** Ends the sequence as aborted at once (a scheduler's abort; `accept` checks the signal itself). */
  abort(): void {
    if (!this.finished) this.#finish('aborted');
  }

  /**
   * Waits until the constraint has advanced past the last token (a no-op without one); a document
   * that is now complete ends the sequence ('eos': only an end token could follow), so the decode
   * loop stops without another forward pass. Call after `accept`, before the next step.
   */
  async settled(): Promise<void> {
    if (!this.#constraint) return;
    await this.#constraint.settled();
    const cut = this.#finishReason === undefined || this.#finishReason === 'length' || this.#finishReason === 'context';
    if (cut && this.#constraint.isComplete) this.#finishReason = 'eos';
  }

  /** Flushes the text held back and stops the clock; call once the sequence has finished. */
  end(): void {
    if (this.#finishReason !== 'stop') this.#text.push(this.#pieces.flush());
    this.#text.end();
    this.#decodeMs = performance.now() - this.#started - this.#firstTokenMs;
  }

  /** The first reason stands (an abort from within onToken is not overwritten by what follows). */
  #finish(reason: FinishReason): void {
    this.#finishReason ??= reason;
  }
}

import type { Decoder, KvCache } from '../decoder.js';
import type { TokenEmbedder } from '../encoders.js';
import { Sampler, type SamplingOptions } from './sampling.js';
import { StreamingDecoder, type TextTokenizer } from '../tokenizer.js';

export type FinishReason = 'eos' | 'length' | 'stop' | 'context' | 'aborted';

export interface DecodeLoopOptions {
  decoder: Decoder;
  embedder: TokenEmbedder;
  tokenizer: TextTokenizer;
  /** Logits of the last prompt position (the cache already holds the prompt). */
  firstLogits: Float32Array;
  cache: KvCache;
  /** Ids the repetition penalty looks at besides the generated ones. */
  history: readonly number[];
  maxNewTokens: number;
  contextLength: number;
  eosTokenIds: readonly number[];
  stop?: readonly string[];
  sampling?: SamplingOptions;
  signal?: AbortSignal;
  emit: (piece: string) => void;
  onToken?: (id: number) => void;
}

export interface DecodeLoopResult {
  ids: number[];
  text: string;
  finishReason: FinishReason;
  /** ms from the loop's start to the first token (sampling the prefill logits). */
  firstTokenMs: number;
  /** ms spent on the tokens after the first. */
  decodeMs: number;
}

/**
 * Samples, streams and feeds back one token at a time. The last sampled token is not fed to the
 * decoder, so afterwards the cache holds the prompt plus all generated ids but the last.
 */
export async function decodeLoop(options: DecodeLoopOptions): Promise<DecodeLoopResult> {
  const { decoder, embedder, cache, maxNewTokens, signal } = options;
  const started = performance.now();
  const sampler = new Sampler(options.sampling, options.history);
  const eos = new Set(options.eosTokenIds);
  const text = new StopStringFilter(options.stop ?? [], options.emit);
  const pieces = new StreamingDecoder(options.tokenizer);
  const ids: number[] = [];
  let logits = options.firstLogits;
  let firstTokenMs = 0;
  let finishReason: FinishReason = 'length';

  while (ids.length < maxNewTokens) {
    if (signal?.aborted) {
      finishReason = 'aborted';
      break;
    }
    const id = sampler.next(logits);
    ids.push(id);
    if (ids.length === 1) firstTokenMs = performance.now() - started;
    options.onToken?.(id);
    if (eos.has(id)) {
      finishReason = 'eos';
      break;
    }
    if (text.push(pieces.push(id))) {
      finishReason = 'stop';
      break;
    }
    if (ids.length >= maxNewTokens) break;
    if (cache.length + 1 > options.contextLength) {
      finishReason = 'context';
      break;
    }
    const embeds = await embedder.embed([id]);
    logits = await decoder.forward(embeds, 1, cache);
  }
  if (finishReason !== 'stop') text.push(pieces.flush());
  text.end();
  const decodeMs = performance.now() - started - firstTokenMs;
  return { ids, text: text.text, finishReason, firstTokenMs, decodeMs };
}

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

import type { Utf8Guard } from './utf8-guard.js';
import type { CompiledGrammar, GrammarMatcher } from './xgrammar.js';
import { xgrammar } from './xgrammar.js';

/** What a constraint needs besides its grammar: the model's stop tokens and vocabulary facts. */
export interface ConstraintVocabulary {
  stopTokenIds: readonly number[];
  /** Number of logits per step. */
  vocabSize: number;
  utf8: Utf8Guard;
}

/**
 * The token-level constraint of one generation: which tokens may come next so that the text stays
 * a prefix of a document the format accepts. The end-of-sequence tokens are allowed only once the
 * document is complete.
 *
 * Use in a decode loop (mask before sampling, accept after):
 *
 *     constraint.maskLogits(logits);            // sync: -Infinity for every token that cannot follow
 *     const id = sampler.next(logits);
 *     if (eos.has(id)) break;                   // only possible when constraint.canEnd()
 *     const next = decoder.forward(id);         // start the forward pass first (native threads) ...
 *     await constraint.accept(id);              // ... then compute the next mask meanwhile
 *     logits = await next;
 *
 * Call `dispose()` when the generation ends (the matcher lives in WebAssembly memory).
 */
export class JsonConstraint {
  readonly #matcher: GrammarMatcher;
  readonly #stopTokenIds: readonly number[];
  readonly #vocabSize: number;
  readonly #utf8: Utf8Guard;
  /** Last byte of each accepted token (the UTF-8 guard looks at the last one). */
  readonly #lastBytes: number[] = [];
  /** Bit i set = token i may come next (the engine's layout: 32 tokens per word, low bit first). */
  #mask: Int32Array;
  #allowed = 0;
  #stopsAllowed = 0;
  #disposed = false;

  private constructor(matcher: GrammarMatcher, vocabulary: ConstraintVocabulary) {
    this.#matcher = matcher;
    this.#stopTokenIds = vocabulary.stopTokenIds;
    this.#vocabSize = vocabulary.vocabSize;
    this.#utf8 = vocabulary.utf8;
    this.#mask = new Int32Array(Math.ceil(this.#vocabSize / 32));
  }

  /** A constraint at the start of a document (computes the first mask). */
  static async create(grammar: CompiledGrammar, vocabulary: ConstraintVocabulary): Promise<JsonConstraint> {
    const matcher = await xgrammar().GrammarMatcher.createGrammarMatcher(grammar, [...vocabulary.stopTokenIds]);
    const constraint = new JsonConstraint(matcher, vocabulary);
    await constraint.#refresh();
    return constraint;
  }

  /** Sets to -Infinity the logit of every token that cannot come next (ids past the vocabulary too). */
  maskLogits(logits: Float32Array): void {
    const mask = this.#mask;
    const end = Math.min(logits.length, this.#vocabSize);
    for (let word = 0; word * 32 < end; word++) {
      const bits = mask[word]!;
      if (bits === -1) continue; // all 32 allowed: the common case inside strings
      const last = Math.min(end, word * 32 + 32);
      for (let id = word * 32; id < last; id++) if (((bits >>> (id & 31)) & 1) === 0) logits[id] = -Infinity;
    }
    logits.fill(-Infinity, end);
  }

  /** Whether `tokenId` may come next. */
  allows(tokenId: number): boolean {
    return tokenId >= 0 && tokenId < this.#vocabSize && ((this.#mask[tokenId >>> 5]! >>> (tokenId & 31)) & 1) === 1;
  }

  /**
   * Advances past a token the sampler chose from masked logits, then computes the next mask.
   * Throws if the token was not allowed (the logits were not masked) or after the end.
   */
  async accept(tokenId: number): Promise<void> {
    this.#checkUsable();
    if (!this.allows(tokenId) || !this.#matcher.acceptToken(tokenId)) {
      throw new Error(`token ${tokenId} cannot continue the JSON document here (were the logits masked?)`);
    }
    this.#lastBytes.push(this.#utf8.lastByte(tokenId));
    await this.#refresh();
  }

  /** Undoes the last `tokens` accepted tokens (for speculative decoding or a retried step). */
  async rollback(tokens: number): Promise<void> {
    this.#checkUsable();
    this.#matcher.rollBack(tokens);
    this.#lastBytes.length = Math.max(0, this.#lastBytes.length - tokens);
    await this.#refresh();
  }

  /** The text so far is a complete document: an end-of-sequence token may come next. */
  canEnd(): boolean {
    return this.#stopsAllowed > 0;
  }

  /** The document is complete and nothing but an end-of-sequence token may follow. */
  get isComplete(): boolean {
    return this.#matcher.isTerminated() || (this.#stopsAllowed > 0 && this.#allowed === this.#stopsAllowed);
  }

  /** Frees the engine's matcher; the constraint cannot be used afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#matcher.dispose();
  }

  #checkUsable(): void {
    if (this.#disposed) throw new Error('the JSON constraint was disposed');
    if (this.#matcher.isTerminated()) throw new Error('the JSON document has already ended');
  }

  async #refresh(): Promise<void> {
    if (this.#matcher.isTerminated()) {
      this.#mask.fill(0);
      this.#allowed = this.#stopsAllowed = 0;
      return;
    }
    this.#mask = await this.#matcher.getNextTokenBitmask();
    this.#utf8.restrict(this.#mask, this.#lastBytes.at(-1) ?? -1);
    this.#stopsAllowed = this.#stopTokenIds.filter((id) => this.allows(id)).length;
    this.#allowed = countBits(this.#mask, this.#vocabSize);
    if (this.#allowed === 0) throw new Error('the grammar allows no next token (this is a bug)');
  }
}

function countBits(mask: Int32Array, vocabSize: number): number {
  let count = 0;
  const words = Math.ceil(vocabSize / 32);
  for (let word = 0; word < words; word++) {
    let bits = mask[word]!;
    if (word === words - 1 && vocabSize % 32 !== 0) bits &= (1 << (vocabSize % 32)) - 1;
    bits -= (bits >>> 1) & 0x55555555;
    bits = (bits & 0x33333333) + ((bits >>> 2) & 0x33333333);
    count += (Math.imul((bits + (bits >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
  }
  return count;
}

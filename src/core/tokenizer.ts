import type { Tokenizer } from '@huggingface/tokenizers';
import { tokenizers } from './lazy-modules.js';
import { SmolVLMError } from './errors.js';

/** The model's tokenizer (tokenizer.json through @huggingface/tokenizers), as the core uses it. */
export class TextTokenizer {
  readonly #tokenizer: Tokenizer;
  readonly #specialIds: Set<number>;

  constructor(tokenizerJson: object, tokenizerConfig: object) {
    try {
      this.#tokenizer = new (tokenizers().Tokenizer)(tokenizerJson, tokenizerConfig);
    } catch (error) {
      throw new SmolVLMError('MODEL_INVALID', `tokenizer.json could not be loaded: ${(error as Error).message}`, { cause: error });
    }
    this.#specialIds = new Set(
      [...this.#tokenizer.get_added_tokens_decoder()].filter(([, token]) => token.special).map(([id]) => id),
    );
  }

  /** Token ids of a string, without added BOS/EOS (SmolVLM's chat template writes them itself). */
  encode(text: string): number[] {
    return this.#tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[], skipSpecialTokens = true): string {
    if (ids.length === 0) return '';
    return this.#tokenizer.decode(ids as number[], { skip_special_tokens: skipSpecialTokens });
  }

  tokenId(token: string): number | undefined {
    return this.#tokenizer.token_to_id(token);
  }

  isSpecial(id: number): boolean {
    return this.#specialIds.has(id);
  }
}

/**
 * Turns generated ids into text pieces as they arrive. A piece never ends inside a UTF-8 character
 * (the decoder waits while the text ends with U+FFFD), and the pieces concatenate to the decode of
 * all ids. Special tokens are skipped.
 */
export class StreamingDecoder {
  readonly #tokenizer: TextTokenizer;
  readonly #ids: number[] = [];
  #prefixStart = 0; // first id of the window that is re-decoded for context
  #emittedUpTo = 0; // ids before this index have been turned into text

  constructor(tokenizer: TextTokenizer) {
    this.#tokenizer = tokenizer;
  }

  /** Adds one id; returns the text that became final, possibly ''. */
  push(id: number): string {
    this.#ids.push(id);
    const window = this.#ids.slice(this.#prefixStart);
    const text = this.#tokenizer.decode(window);
    if (text.endsWith('\uFFFD')) return '';
    const before = this.#tokenizer.decode(this.#ids.slice(this.#prefixStart, this.#emittedUpTo));
    this.#prefixStart = this.#emittedUpTo;
    this.#emittedUpTo = this.#ids.length;
    return text.slice(before.length);
  }

  /** Text held back at the end (an incomplete character), as the full decode renders it. */
  flush(): string {
    if (this.#emittedUpTo === this.#ids.length) return '';
    const text = this.#tokenizer.decode(this.#ids.slice(this.#prefixStart));
    const before = this.#tokenizer.decode(this.#ids.slice(this.#prefixStart, this.#emittedUpTo));
    this.#prefixStart = this.#emittedUpTo;
    this.#emittedUpTo = this.#ids.length;
    return text.slice(before.length);
  }
}

/**
 * Keeps generated text valid UTF-8 where the grammar engine does not. xgrammar checks the shape of a
 * UTF-8 sequence (a lead byte and its continuation bytes) but not the ranges: it accepts encoded
 * surrogates (ED A0..BF), overlong forms (E0 80..9F, F0 80..8F) and code points past U+10FFFF
 * (F4 90..BF). Such bytes decode to U+FFFD characters, which also break `maxLength`. The only
 * bytes concerned are the one right after one of four lead bytes, so a token's first and last
 * bytes are enough to track it across tokens; no library does this for a token vocabulary.
 */

/** The allowed range of the byte after each lead byte whose range is narrower than 80..BF. */
const NARROW_AFTER: ReadonlyMap<number, readonly [number, number]> = new Map([
  [0xe0, [0xa0, 0xbf]],
  [0xed, [0x80, 0x9f]],
  [0xf0, [0x90, 0xbf]],
  [0xf4, [0x80, 0x8f]],
]);

const fits = (lead: number, next: number): boolean => {
  const range = NARROW_AFTER.get(lead);
  return range === undefined || (next >= range[0] && next <= range[1]);
};

/** Whether a token's own bytes hold an out-of-range sequence (it can then never be allowed). */
export function hasInvalidUtf8(bytes: readonly number[]): boolean {
  for (let i = 0; i + 1 < bytes.length; i++) if (!fits(bytes[i]!, bytes[i + 1]!)) return true;
  return false;
}

export class Utf8Guard {
  /** First and last byte of each token (-1 for tokens the engine never allows). */
  readonly #first: Int16Array;
  readonly #last: Int16Array;

  constructor(first: Int16Array, last: Int16Array) {
    this.#first = first;
    this.#last = last;
  }

  /** The byte the text ends with after `tokenId` (for `restrict`). */
  lastByte(tokenId: number): number {
    return this.#last[tokenId] ?? -1;
  }

  /**
   * Clears from `mask` (bit i = token i allowed) the tokens whose first byte cannot follow
   * `previousByte`, the last byte of the text so far. Only acts after one of the four lead bytes.
   */
  restrict(mask: Int32Array, previousByte: number): void {
    if (!NARROW_AFTER.has(previousByte)) return;
    const first = this.#first;
    for (let id = 0; id < first.length; id++) {
      const byte = first[id]!;
      if (byte >= 0 && !fits(previousByte, byte)) mask[id >>> 5] &= ~(1 << (id & 31));
    }
  }
}

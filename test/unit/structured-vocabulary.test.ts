import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SmolVLMError } from '../../src/core/errors.js';
import { hasInvalidUtf8 } from '../../src/core/structured/utf8-guard.js';
import { engineVocabulary, toByteLevel } from '../../src/core/structured/vocabulary.js';

/** A small byte-level tokenizer.json: `vocab` token strings are already in byte-level form. */
function tokenizerJson(vocab: Record<string, number>, added: object[] = [], decoder: object = { type: 'ByteLevel' }) {
  return { model: { type: 'BPE', vocab }, decoder, added_tokens: added };
}

describe('engine vocabulary', () => {
  test('token strings stay byte-level; special tokens, gaps and bytes JSON never holds are withheld', () => {
    const vocab = { '<|endoftext|>': 0, a: 1, 'Ġb': 2, [toByteLevel('\n')]: 3, [toByteLevel('é')]: 4, [byteLevelChar(0xff)]: 5 };
    const added = [
      { id: 0, content: '<|endoftext|>', special: true },
      { id: 6, content: 'two words', special: false },
      { id: 7, content: '<end_of_utterance>', special: true },
    ];
    const { tokens, stopTokenIds } = engineVocabulary(tokenizerJson(vocab, added), 10, [7]);
    assert.deepEqual(stopTokenIds, [7]);
    assert.equal(tokens.length, 10);
    assert.deepEqual(tokens.slice(0, 8), ['', 'a', 'Ġb', '', 'Ã©', '', 'twoĠwords', '']);
    assert.deepEqual(tokens.slice(8), ['', '']); // logits past the tokenizer's ids
  });

  test('a tokenizer that is not byte-level BPE is refused with one line', () => {
    assert.throws(
      () => engineVocabulary(tokenizerJson({ a: 0 }, [], { type: 'Metaspace' }), 4, [0]),
      (error: unknown) => error instanceof SmolVLMError && error.code === 'USAGE' && /byte-level BPE/.test(error.message),
    );
    assert.throws(() => engineVocabulary({ model: {} }, 4, [0]), /tokenizer.json has no model.vocab/);
    assert.throws(() => engineVocabulary(tokenizerJson({ a: 0 }), 4, [9]), /end-of-sequence token id inside the vocabulary/);
  });

  test('a token holding an out-of-range UTF-8 sequence is never allowed', () => {
    assert.equal(hasInvalidUtf8([0xed, 0xa0, 0x80]), true); // an encoded surrogate
    assert.equal(hasInvalidUtf8([0xe0, 0x80]), true); // overlong
    assert.equal(hasInvalidUtf8([0xf4, 0x90]), true); // past U+10FFFF
    assert.equal(hasInvalidUtf8([...new TextEncoder().encode('한글 😀 ऄ')]), false);
  });

  test('after a lead byte with a narrow range, only tokens starting inside it may follow', () => {
    const vocab = { [byteLevelChar(0xed)]: 0, [byteLevelChar(0x9f)]: 1, [byteLevelChar(0xa0)]: 2, x: 3, '<eos>': 4 };
    const { utf8 } = engineVocabulary(tokenizerJson(vocab, [{ id: 4, content: '<eos>', special: true }]), 5, [4]);
    const mask = new Int32Array([0b11111]);
    utf8.restrict(mask, utf8.lastByte(0)); // the text ends with 0xED
    // Only 0x9F may follow: 0xA0 would encode a surrogate, 0xED and "x" are no continuation byte;
    // the end-of-sequence token has no bytes and is left alone.
    assert.equal(mask[0], 0b10010);
    const untouched = new Int32Array([0b11111]);
    utf8.restrict(untouched, utf8.lastByte(3));
    assert.equal(untouched[0], 0b11111);
  });
});

/** The byte-level character of a single byte (GPT-2's table). */
function byteLevelChar(b: number): string {
  const printable = (x: number) => (x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || (x >= 0xae && x <= 0xff);
  if (printable(b)) return String.fromCodePoint(b);
  let extra = 0;
  for (let x = 0; x < b; x++) if (!printable(x)) extra++;
  return String.fromCodePoint(256 + extra);
}

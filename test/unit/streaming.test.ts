import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { StopStringFilter } from '../../src/core/generation/stop.js';
import { TextStream } from '../../src/core/generation/stream.js';
import { StreamingDecoder, TextTokenizer } from '../../src/core/tokenizer.js';
import { referenceModelDir, skipUnlessShared } from '../helpers/shared.js';

const skip = skipUnlessShared(referenceModelDir);

describe('streaming decode with the real byte-level tokenizer', { skip }, () => {
  const readRef = (file: string) => JSON.parse(readFileSync(path.join(referenceModelDir, file), 'utf8'));
  const tokenizer = skip ? undefined! : new TextTokenizer(readRef('tokenizer.json'), readRef('tokenizer_config.json'));

  test('pieces never split a UTF-8 character and concatenate to the full decode', () => {
    const text = 'Ein Bär 🐻‍❄️ sah 日本語の文字 and “quotes” — café<end_of_utterance>, naïve 👍🏽!';
    const ids = tokenizer.encode(text);
    const decoder = new StreamingDecoder(tokenizer);
    const pieces = ids.map((id) => decoder.push(id));
    pieces.push(decoder.flush());
    for (const piece of pieces) assert.ok(!piece.includes('\uFFFD'), `piece ${JSON.stringify(piece)} splits a character`);
    assert.ok(pieces.filter((p) => p === '').length > 0, 'some multi-byte characters span several tokens');
    assert.equal(pieces.join(''), tokenizer.decode(ids));
    assert.equal(pieces.join(''), text.replace('<end_of_utterance>', ''));
  });

  test('invalid byte sequences still come out, as the full decode renders them', () => {
    const ids = [...tokenizer.encode('a'), tokenizer.tokenId('Ã')!, tokenizer.tokenId('¤')!, ...tokenizer.encode('b'), tokenizer.tokenId('Ã')!];
    const decoder = new StreamingDecoder(tokenizer);
    const pieces = ids.map((id) => decoder.push(id));
    pieces.push(decoder.flush());
    assert.equal(pieces.join(''), tokenizer.decode(ids));
  });
});

describe('stop strings', () => {
  const run = (pieces: string[], stops: string[]) => {
    const out: string[] = [];
    const filter = new StopStringFilter(stops, (p) => out.push(p));
    let stopped = false;
    for (const piece of pieces) if ((stopped = filter.push(piece))) break;
    filter.end();
    return { out, stopped, text: filter.text };
  };

  test('a stop string split across pieces is caught and not emitted', () => {
    const { out, stopped, text } = run(['Hello wo', 'rld. ST', 'OP here'], ['STOP']);
    assert.equal(stopped, true);
    assert.equal(out.join(''), 'Hello world. ');
    assert.equal(text, 'Hello world. ');
  });

  test('without a match everything is emitted', () => {
    const { out, stopped } = run(['a', 'b', 'S', 'T'], ['STOP']);
    assert.equal(stopped, false);
    assert.equal(out.join(''), 'abST');
  });

  test('held-back text never ends between the halves of a surrogate pair', () => {
    const { out } = run(['x😀', 'y', 'z'], ['abc']);
    for (const piece of out) assert.ok(!/[\ud800-\udbff]$/.test(piece), JSON.stringify(piece));
    assert.equal(out.join(''), 'x😀yz');
  });
});

describe('TextStream', () => {
  test('pieces arrive in order and the result resolves after them', async () => {
    const stream = new TextStream(async (emit) => {
      for (const p of ['a', 'b', 'c']) {
        await new Promise((r) => setTimeout(r, 1));
        emit(p);
      }
      return 42;
    });
    assert.equal(await stream.text(), 'abc');
    assert.equal(await stream.result, 42);
  });

  test('an error reaches the iterating caller', async () => {
    const stream = new TextStream(async (emit) => {
      emit('x');
      throw new Error('boom');
    });
    await assert.rejects(stream.text(), /boom/);
  });
});

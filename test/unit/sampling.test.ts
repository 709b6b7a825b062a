import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { argmax, Sampler, seededRandom, topCandidates } from '../../src/core/generation/sampling.js';

function randomLogits(n: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n }, () => random() * 10 - 5);
}

describe('sampling', () => {
  test('greedy picks the largest logit', () => {
    const logits = randomLogits(1000, 1);
    assert.equal(new Sampler().next(logits.slice()), argmax(logits));
  });

  test('the same seed gives the same sequence, another seed another one', () => {
    const draw = (seed: number) => {
      const sampler = new Sampler({ temperature: 1, topK: 0, seed });
      return Array.from({ length: 20 }, (_, i) => sampler.next(randomLogits(500, i)));
    };
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
  });

  test('top-k 1 and a tiny top-p are greedy', () => {
    const logits = randomLogits(300, 7);
    const best = argmax(logits);
    assert.equal(new Sampler({ temperature: 2, topK: 1, seed: 1 }).next(logits.slice()), best);
    assert.equal(new Sampler({ temperature: 2, topK: 0, topP: 1e-6, seed: 1 }).next(logits.slice()), best);
  });

  test('min-p drops tokens far below the top probability', () => {
    const logits = new Float32Array([10, 9.9, -10, -10, -10]);
    const sampler = new Sampler({ temperature: 1, topK: 0, minP: 0.5, seed: 3 });
    const seen = new Set(Array.from({ length: 200 }, () => sampler.next(logits.slice())));
    assert.deepEqual([...seen].sort(), [0, 1]);
  });

  test('repetition penalty divides positive and multiplies negative logits of seen ids', () => {
    const logits = new Float32Array([2, 1.5, -1]);
    const sampler = new Sampler({ repetitionPenalty: 2 }, [0, 2]);
    assert.equal(sampler.next(logits), 1);
    assert.deepEqual([...logits], [1, 1.5, -2]);
  });

  test('sampled frequencies follow the softmax', () => {
    const logits = new Float32Array([Math.log(0.7), Math.log(0.2), Math.log(0.1)]);
    const sampler = new Sampler({ temperature: 1, topK: 0, seed: 11 });
    const counts = [0, 0, 0];
    for (let i = 0; i < 5000; i++) counts[sampler.next(logits.slice())]!++;
    assert.ok(Math.abs(counts[0]! / 5000 - 0.7) < 0.03, String(counts));
    assert.ok(Math.abs(counts[2]! / 5000 - 0.1) < 0.02, String(counts));
  });

  test('topCandidates returns the k best in order', () => {
    const logits = randomLogits(2000, 5);
    const expected = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!).slice(0, 40);
    assert.deepEqual(topCandidates(logits, 40), expected);
  });

  test('invalid settings are usage errors', () => {
    assert.throws(() => new Sampler({ temperature: -1 }), { code: 'USAGE' });
    assert.throws(() => new Sampler({ topP: 0 }), { code: 'USAGE' });
    assert.throws(() => new Sampler({ topK: 1.5 }), { code: 'USAGE' });
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SETTINGS, findSetting, formatSetting, parseSet } from '../../src/cli/repl/settings.js';
import type { SmolVLM } from '../../src/index.js';

/** formatSetting reads only the model's processor options (its defaults for split and image size). */
const model = { processorOptions: { doImageSplitting: true, longestEdge: 1536 } } as unknown as SmolVLM;

describe('/set and /show settings (from the settings table)', () => {
  it('takes every setting of the table but the stop list', () => {
    assert.deepEqual(
      SETTINGS.map((s) => s.name),
      ['temperature', 'top_k', 'top_p', 'min_p', 'repetition_penalty', 'seed', 'max_tokens', 'split', 'image_size', 'fps', 'max_frames'],
    );
    assert.equal(findSetting('top-p')?.key, 'topP');
    assert.equal(findSetting('stop'), undefined);
  });

  it('parses values with the flag rules; default resets', () => {
    assert.deepEqual(parseSet('top_p 0.5').change, { topP: 0.5 });
    assert.deepEqual(parseSet('split off').change, { split: false });
    assert.deepEqual(parseSet('max_tokens default').change, { maxTokens: undefined });
    assert.equal(parseSet('IMAGE-SIZE 384').spec.key, 'imageSize');
  });

  it('names the parameter and the rule in its errors', () => {
    assert.throws(() => parseSet('top_p 2'), { name: 'UsageError', message: 'invalid top_p "2": Must be in (0, 1]' });
    assert.throws(() => parseSet('seed 1.5'), { message: 'invalid seed "1.5": Not an integer' });
    assert.throws(() => parseSet('split maybe'), { message: 'invalid split "maybe": Must be on or off' });
    assert.throws(() => parseSet('x 1'), { message: /^unknown parameter "x"; \/set takes one of temperature, top_k, .*, image_size, fps, max_frames$/ });
    assert.throws(() => parseSet(''), { message: /^missing parameter; \/set takes one of / });
    assert.throws(() => parseSet('temperature'), { message: 'missing value: /set temperature <t>, a number >= 0 (0 = greedy) (or "default")' });
  });

  it('shows values, the defaults in words and the model defaults', () => {
    const spec = (name: string) => findSetting(name)!;
    const settings = { maxTokens: 512, temperature: 0.8, split: false };
    assert.equal(formatSetting(spec('temperature'), settings, model), '0.8');
    assert.equal(formatSetting(spec('split'), settings, model), 'off');
    assert.equal(formatSetting(spec('split'), { maxTokens: 5 }, model), 'on (model default)');
    assert.equal(formatSetting(spec('fps'), { maxTokens: 5 }, model), 'no video (this model)');
    const videoModel = { ...model, videoOptions: { sampling: { fps: 1, maxFrames: 64 } } } as unknown as SmolVLM;
    assert.equal(formatSetting(spec('max_frames'), { maxTokens: 5 }, videoModel), '64 (model default)');
    assert.equal(formatSetting(spec('image_size'), { maxTokens: 5 }, model), '1536 (model default)');
    assert.equal(formatSetting(spec('top_p'), { maxTokens: 5 }, model), '1 (off, default)');
    assert.equal(formatSetting(spec('seed'), { maxTokens: 5 }, model), 'random (default)');
  });
});

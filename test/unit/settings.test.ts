import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SETTINGS, findSetting, isSettingKey, parseSettingText, settingsFromSnakeCase, settingsToSnakeCase, validateSettings } from '../../src/core/settings.js';

describe('settings table', () => {
  it('names every setting once in each vocabulary', () => {
    for (const field of ['key', 'name', 'flag'] as const) {
      const values = SETTINGS.map((s) => s[field]);
      assert.equal(new Set(values).size, values.length, field);
    }
  });

  it('names each setting in snake_case after its library key (the rule SnakeCaseSettings types)', () => {
    for (const spec of SETTINGS) assert.equal(spec.name, spec.key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), spec.key);
    assert.equal(isSettingKey('topP'), true);
    assert.equal(isSettingKey('top_p'), false);
  });

  it('finds a setting by snake_case, kebab-case, flag or camelCase', () => {
    assert.equal(findSetting('top_p')?.key, 'topP');
    assert.equal(findSetting('top-p')?.key, 'topP');
    assert.equal(findSetting('--repetition-penalty')?.key, 'repetitionPenalty');
    assert.equal(findSetting('maxTokens')?.name, 'max_tokens');
    assert.equal(findSetting('nope'), undefined);
  });

  it('parses typed values with the flag rules', () => {
    const topP = findSetting('top_p')!;
    assert.equal(parseSettingText(topP, '0.5'), 0.5);
    assert.throws(() => parseSettingText(topP, '0'), /Must be in \(0, 1\]/);
    assert.throws(() => parseSettingText(findSetting('max_tokens')!, 'lots'), /Not a number/);
    assert.throws(() => parseSettingText(findSetting('max_tokens')!, '1.5'), /Not an integer/);
    assert.equal(parseSettingText(findSetting('split')!, 'off'), false);
    assert.deepEqual(parseSettingText(findSetting('stop')!, '\n'), ['\n']);
    assert.throws(() => parseSettingText(findSetting('stop')!, ''), /Must not be empty/);
  });

  it('validates untyped values with the same rules', () => {
    validateSettings({ temperature: 0.7, maxTokens: 3, stop: ['x'], split: true });
    assert.throws(() => validateSettings({ maxTokens: 0 }), /max_tokens must be an integer >= 1/);
    assert.throws(() => validateSettings({ maxTokens: NaN }), /max_tokens/);
    assert.throws(() => validateSettings({ stop: [''] }), /stop must be a list of non-empty strings/);
    assert.throws(() => validateSettings({ temperature: '1' }), /temperature/);
  });

  it('round-trips through the snake_case form', () => {
    const settings = { temperature: 0.2, topK: 5, stop: ['a'], imageSize: 384 };
    const snake = settingsToSnakeCase(settings);
    assert.deepEqual(snake, { temperature: 0.2, top_k: 5, stop: ['a'], image_size: 384 });
    assert.deepEqual(settingsFromSnakeCase(snake, 'settings'), settings);
    assert.throws(() => settingsFromSnakeCase({ top_p: 2 }, 'settings'), /settings\.top_p must be in \(0, 1\]/);
  });
});

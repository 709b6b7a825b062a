/** Colour levels: --no-color, FORCE_COLOR (over NO_COLOR and pipes, as Node reads it), NO_COLOR, terminals. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colorLevel, forcedColorLevel } from '../../src/cli/render.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

test('FORCE_COLOR values as Node and chalk read them', () => {
  assert.equal(forcedColorLevel({}), undefined);
  assert.equal(forcedColorLevel({ FORCE_COLOR: '' }), 1);
  assert.equal(forcedColorLevel({ FORCE_COLOR: 'true' }), 1);
  assert.equal(forcedColorLevel({ FORCE_COLOR: '0' }), 0);
  assert.equal(forcedColorLevel({ FORCE_COLOR: 'false' }), 0);
  assert.equal(forcedColorLevel({ FORCE_COLOR: '2' }), 2);
  assert.equal(forcedColorLevel({ FORCE_COLOR: '7' }), 3);
});

test('FORCE_COLOR colours a pipe and wins over NO_COLOR; --no-color wins over both', () => {
  assert.equal(colorLevel({}, pipe, {}), 0);
  assert.equal(colorLevel({}, pipe, { FORCE_COLOR: '1' }), 1);
  assert.equal(colorLevel({}, pipe, { FORCE_COLOR: '3', NO_COLOR: '1' }), 3);
  assert.equal(colorLevel({ color: false }, tty, { FORCE_COLOR: '3' }), 0);
  assert.equal(colorLevel({}, tty, { FORCE_COLOR: '0' }), 0);
});

test('without FORCE_COLOR: a terminal gets colours unless NO_COLOR is set', () => {
  assert.ok(colorLevel({}, tty, {}) >= 1);
  assert.equal(colorLevel({}, tty, { NO_COLOR: '1' }), 0);
  assert.ok(colorLevel({}, tty, { NO_COLOR: '' }) >= 1);
});

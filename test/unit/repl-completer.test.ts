import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { completeLine } from '../../src/cli/repl/completer.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-completer-'));
const home = path.join(tmp, 'home');
const options = { cwd: tmp, home };

before(() => {
  mkdirSync(path.join(tmp, 'photos'));
  mkdirSync(home);
  for (const name of ['cat.jpg', 'my cat.png', 'chat.json', '.hidden']) writeFileSync(path.join(tmp, name), '');
  writeFileSync(path.join(tmp, 'photos', 'dog.jpg'), '');
  writeFileSync(path.join(home, 'notes.json'), '');
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('chat Tab completion', () => {
  it('completes slash commands and their aliases', () => {
    assert.deepEqual(completeLine('/sa', options), [['/save'], '/sa']);
    assert.deepEqual(completeLine('/s', options), [['/system', '/set', '/show', '/stats', '/save'], '/s']);
    assert.deepEqual(completeLine('/by', options), [['/bye'], '/by']);
    assert.deepEqual(completeLine('/nothing', options), [[], '/nothing']);
  });

  it('completes /set parameter names (also after Ollama\'s "parameter") and /show topics', () => {
    assert.deepEqual(completeLine('/set top', options), [['top_k', 'top_p'], 'top']);
    assert.deepEqual(completeLine('/set ver', options), [['verbose'], 'ver']);
    assert.deepEqual(completeLine('/set parameter max_t', options), [['max_tokens'], 'max_t']);
    assert.deepEqual(completeLine('/set parameter max', options), [['max_tokens', 'max_frames'], 'max']);
    assert.deepEqual(completeLine('/set top_k 4', options), [[], 'top_k 4']);
    assert.deepEqual(completeLine('/show p', options), [['parameters'], 'p']);
  });

  it('completes paths after /image, /load, /save: folders end in /, spaces are escaped, dot files only when asked', () => {
    assert.deepEqual(completeLine('/image c', options), [['cat.jpg', 'chat.json'], 'c']);
    assert.deepEqual(completeLine('/image my', options), [['my\\ cat.png'], 'my']);
    assert.deepEqual(completeLine('/image ph', options), [['photos/'], 'ph']);
    assert.deepEqual(completeLine('/image photos/', options), [['photos/dog.jpg'], 'photos/']);
    assert.deepEqual(completeLine('/load .h', options), [['.hidden'], '.h']);
    assert.deepEqual(completeLine('/load ~/no', options), [['~/notes.json'], '~/no']);
    assert.deepEqual(completeLine('/save missing/x', options), [[], 'missing/x']);
  });

  it('completes a path being typed in a message, not other words', () => {
    const line = `what is in ${tmp}/photos/d`;
    assert.deepEqual(completeLine(line, options), [[`${tmp}/photos/dog.jpg`], `${tmp}/photos/d`]);
    assert.deepEqual(completeLine('compare ./my\\ c', options), [['./my\\ cat.png'], './my\\ c']);
    assert.deepEqual(completeLine('what is th', options), [[], 'what is th']);
  });
});

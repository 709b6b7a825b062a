import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ChatTemplate, expandImagePlaceholders, imagePromptString } from '../../src/core/prompt.js';
import { TextTokenizer } from '../../src/core/tokenizer.js';
import { referenceModelDir, skipUnlessShared } from '../helpers/shared.js';

const skip = skipUnlessShared(referenceModelDir);
const readRef = (file: string) => JSON.parse(readFileSync(path.join(referenceModelDir, file), 'utf8'));

describe('prompt layout with the real SmolVLM-256M tokenizer and template (test vectors of ../shared/spec/smolvlm-onnx.md, section 8)', { skip }, () => {
  const tokenizer = skip ? undefined! : new TextTokenizer(readRef('tokenizer.json'), readRef('tokenizer_config.json'));
  const template = skip ? undefined! : new ChatTemplate(readRef('chat_template.json').chat_template);

  test('special and plain strings tokenize to the reference ids', () => {
    const vectors: [string, number[]][] = [
      ['\n', [198]],
      ['\n\n', [1116]],
      ['<row_1_col_1>', [49153]],
      ['<global-img>', [49152]],
      ['<image>', [49190]],
      ['<fake_token_around_image>', [49189]],
      ['<end_of_utterance>', [49279]],
      ['<|im_start|>', [1]],
      ['User:', [11126, 42]],
      ['Assistant:', [9519, 9531, 42]],
      ['Can you describe this image?', [7306, 346, 5125, 451, 2443, 47]],
      [' Can you describe this image?', [1978, 346, 5125, 451, 2443, 47]],
      ['hi', [6004]],
    ];
    for (const [text, ids] of vectors) assert.deepEqual(tokenizer.encode(text), ids, JSON.stringify(text));
  });

  test('the chat template renders image-first and text-first turns as transformers does', () => {
    assert.equal(
      template.render([{ role: 'user', content: [{ type: 'image', image: 'x.jpg' }, { type: 'text', text: 'Can you describe this image?' }] }]),
      '<|im_start|>User:<image>Can you describe this image?<end_of_utterance>\nAssistant:',
    );
    assert.equal(
      template.render([
        { role: 'user', content: [{ type: 'text', text: 'What do these images show?' }, { type: 'image', image: 'a' }, { type: 'image', image: 'b' }] },
        { role: 'assistant', content: 'The first image shows the statue of Liberty in New York.' },
        { role: 'user', content: 'And who is that?' },
      ]),
      '<|im_start|>User: What do these images show?<image><image><end_of_utterance>\nAssistant: The first image shows the statue of Liberty in New York.<end_of_utterance>\nUser: And who is that?<end_of_utterance>\nAssistant:',
    );
  });

  test('a 3x4 grid expands to 876 ids with the reference non-image ids', () => {
    const prompt = template.render([{ role: 'user', content: [{ type: 'image', image: 'x' }, { type: 'text', text: 'Can you describe this image?' }] }]);
    const ids = tokenizer.encode(expandImagePlaceholders(prompt, [{ rows: 3, cols: 4 }], 64));
    assert.equal(ids.length, 876);
    assert.equal(ids.filter((id) => id === 49190).length, 832);
    const nonImage = Object.fromEntries(ids.flatMap((id, i) => (id === 49190 ? [] : [[i, id]])));
    assert.deepEqual(nonImage, {
      0: 1, 1: 11126, 2: 42, 3: 49189, 4: 49153, 69: 49189, 70: 49154, 135: 49189, 136: 49155, 201: 49189, 202: 49156,
      267: 198, 268: 49189, 269: 49159, 334: 49189, 335: 49160, 400: 49189, 401: 49161, 466: 49189, 467: 49162,
      532: 198, 533: 49189, 534: 49165, 599: 49189, 600: 49166, 665: 49189, 666: 49167, 731: 49189, 732: 49168,
      797: 1116, 798: 49189, 799: 49152, 864: 49189, 865: 7306, 866: 346, 867: 5125, 868: 451, 869: 2443, 870: 47,
      871: 49279, 872: 198, 873: 9519, 874: 9531, 875: 42,
    });
    assert.equal(tokenizer.encode(imagePromptString({ rows: 3, cols: 4 }, 64)).length, 862);
  });

  test('without splitting one image is 67 tokens', () => {
    const prompt = template.render([{ role: 'user', content: [{ type: 'image', image: 'x' }, { type: 'text', text: 'Can you describe this image?' }] }]);
    const ids = tokenizer.encode(expandImagePlaceholders(prompt, [{ rows: 0, cols: 0 }], 64));
    assert.equal(ids.length, 81);
    assert.deepEqual(ids.filter((id) => id !== 49190), [1, 11126, 42, 49189, 49152, 49189, 7306, 346, 5125, 451, 2443, 47, 49279, 198, 9519, 9531, 42]);
    assert.equal(tokenizer.encode(imagePromptString({ rows: 0, cols: 0 }, 64)).length, 67);
  });

  test('decoding skips special tokens', () => {
    assert.equal(tokenizer.decode([1, 11126, 42, 49189, 49153, 49190, 198, 1116, 49152, 7306, 49279]), 'User:\n\n\nCan');
  });
});

describe('image placeholders', () => {
  test('the count of placeholders must equal the count of images', () => {
    assert.throws(() => expandImagePlaceholders('<image> and <image>', [{ rows: 0, cols: 0 }], 4), { code: 'PROMPT_INVALID' });
    assert.throws(() => expandImagePlaceholders('no image', [{ rows: 0, cols: 0 }], 4), { code: 'PROMPT_INVALID' });
  });

  test('tiles come row-major with a newline after each row, the global image last', () => {
    assert.equal(
      imagePromptString({ rows: 2, cols: 2 }, 1),
      '<fake_token_around_image><row_1_col_1><image><fake_token_around_image><row_1_col_2><image>\n' +
        '<fake_token_around_image><row_2_col_1><image><fake_token_around_image><row_2_col_2><image>\n' +
        '\n<fake_token_around_image><global-img><image><fake_token_around_image>',
    );
  });

  test('a literal <image> typed in text is refused rather than silently shifting images', () => {
    const template = new ChatTemplate("{% for m in messages %}{{ m['content'][0]['text'] }}{% endfor %}");
    assert.throws(() => template.render([{ role: 'user', content: 'look: <image>' }]), { code: 'PROMPT_INVALID' });
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Template } from '@huggingface/jinja';
import { TextTokenizer } from '../../src/core/tokenizer.js';
import {
  expandVideoPlaceholders,
  fitVideoToContext,
  formatVideoDuration,
  numberToWords,
  sampleFrames,
  VIDEO_CHAT_TEMPLATE,
  videoPromptString,
  type SampledFrame,
} from '../../src/core/video/index.js';
import { skipUnlessShared } from '../helpers/shared.js';
import { smolvlm2ReferenceDir, videoGolden } from '../helpers/video-golden.js';

/** `_prompt_single_image` of processing_smolvlm.py with image_seq_len 64 (processor_config.json). */
const IMAGE_BLOCK = `<fake_token_around_image><global-img>${'<image>'.repeat(64)}<fake_token_around_image>`;

function render(messages: unknown[], template = VIDEO_CHAT_TEMPLATE): string {
  return new Template(template).render({ messages, add_generation_prompt: true });
}

describe('numberToWords (num2words, English)', () => {
  test('matches num2words on its own test-suite values and the frame counts that occur', () => {
    // Values asserted in num2words' tests/test_en.py (cardinals, and years that it renders as cardinals).
    const known: [number, string][] = [
      [0, 'zero'],
      [38, 'thirty-eight'],
      [50, 'fifty'],
      [199, 'one hundred and ninety-nine'],
      [600, 'six hundred'],
      [2000, 'two thousand'],
      [2001, 'two thousand and one'],
      [3000, 'three thousand'],
      [4778, 'four thousand, seven hundred and seventy-eight'],
      [66000000, 'sixty-six million'],
      // Produced by transformers' processor in the goldens (see test/golden).
      [2, 'two'],
      [3, 'three'],
      [4, 'four'],
      [20, 'twenty'],
      [33, 'thirty-three'],
      [64, 'sixty-four'],
    ];
    for (const [n, words] of known) assert.equal(numberToWords(n), words, String(n));
  });

  test('spells 1..64 as num2words does (teens, tens, hyphenated compounds)', () => {
    const units = ['', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    const teens = ['ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
    const tens = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty'];
    for (let n = 1; n <= 64; n++) {
      const expected = n < 10 ? units[n] : n < 20 ? teens[n - 10] : `${tens[Math.floor(n / 10)]}${n % 10 ? `-${units[n % 10]}` : ''}`;
      assert.equal(numberToWords(n), expected, String(n));
    }
  });

  test('keeps num2words "and" and comma rules past 100', () => {
    assert.equal(numberToWords(101), 'one hundred and one');
    assert.equal(numberToWords(128), 'one hundred and twenty-eight');
    assert.equal(numberToWords(1100), 'one thousand, one hundred');
    assert.equal(numberToWords(1001), 'one thousand and one');
    assert.equal(numberToWords(21000), 'twenty-one thousand');
    assert.equal(numberToWords(2000001), 'two million and one');
    assert.throws(() => numberToWords(-1), RangeError);
    assert.throws(() => numberToWords(1.5), RangeError);
  });
});

describe('formatVideoDuration (str(timedelta(seconds=int(d))))', () => {
  test('H:MM:SS with whole seconds, days spelled out', () => {
    assert.equal(formatVideoDuration(3.003), '0:00:03');
    assert.equal(formatVideoDuration(64.0306), '0:01:04');
    assert.equal(formatVideoDuration(100), '0:01:40');
    assert.equal(formatVideoDuration(0.5), '0:00:00');
    assert.equal(formatVideoDuration(3599.99), '0:59:59');
    assert.equal(formatVideoDuration(36000), '10:00:00');
    assert.equal(formatVideoDuration(86400), '1 day, 0:00:00');
    assert.equal(formatVideoDuration(2 * 86400 + 61), '2 days, 0:01:01');
  });
});

describe('the video prompt, to the character', () => {
  test('a three-frame expansion is exactly the processor text', () => {
    const expected =
      'You are provided the following series of three frames from a 0:00:03 [H:MM:SS] video.\n' +
      `\nFrame from 00:00:${IMAGE_BLOCK}\nFrame from 00:01:${IMAGE_BLOCK}\nFrame from 00:02:${IMAGE_BLOCK}\n\n`;
    assert.equal(videoPromptString({ duration: 3, timestamps: ['00:00', '00:01', '00:02'] }, IMAGE_BLOCK), expected);
  });

  test('placeholders are replaced in order and counted', () => {
    const a = { duration: 1, timestamps: ['00:00'] };
    const b = { duration: 2.5, timestamps: ['00:00', '00:02'] };
    const text = expandVideoPlaceholders('x<video>y<video>z', [a, b], '[img]');
    assert.equal(
      text,
      'xYou are provided the following series of one frames from a 0:00:01 [H:MM:SS] video.\n\nFrame from 00:00:[img]\n\ny' +
        'You are provided the following series of two frames from a 0:00:02 [H:MM:SS] video.\n\nFrame from 00:00:[img]\nFrame from 00:02:[img]\n\nz',
    );
    assert.throws(() => expandVideoPlaceholders('<video>', [], '[img]'), /1 video placeholder\(s\) but 0 video\(s\)/);
  });

  test("the processor's chat template: `User: ` before a video, `User:` before an image", () => {
    // Rendered by transformers 5.18 SmolVLMProcessor.apply_chat_template(..., tokenize=False).
    const video = { type: 'video' };
    const text = (t: string) => ({ type: 'text', text: t });
    assert.equal(render([{ role: 'user', content: [video, text('What happens?')] }]), '<|im_start|>User: <video>What happens?<end_of_utterance>\nAssistant:');
    assert.equal(render([{ role: 'user', content: [text('Look:'), video] }]), '<|im_start|>User: Look:<video><end_of_utterance>\nAssistant:');
    assert.equal(
      render([
        { role: 'user', content: [{ type: 'image' }, text('and'), video] },
        { role: 'assistant', content: [text('Two things.')] },
        { role: 'user', content: [text('Which is longer?')] },
      ]),
      '<|im_start|>User:<image>and<video><end_of_utterance>\nAssistant: Two things.<end_of_utterance>\nUser: Which is longer?<end_of_utterance>\nAssistant:',
    );
    assert.equal(
      render([
        { role: 'system', content: [text('Be brief.')] },
        { role: 'user', content: [video, text('Summarise.')] },
      ]),
      '<|im_start|>System: Be brief.<end_of_utterance>\nUser: <video>Summarise.<end_of_utterance>\nAssistant:',
    );
  });

  test("the models' own template has no video case (why the processor's is used)", () => {
    const modelTemplate = (JSON.parse(readFileSync(path.join(smolvlm2ReferenceDir, 'chat_template.json'), 'utf8')) as { chat_template: string }).chat_template;
    assert.equal(render([{ role: 'user', content: [{ type: 'video' }] }], modelTemplate), '<|im_start|>User: <end_of_utterance>\nAssistant:');
    assert.equal(VIDEO_CHAT_TEMPLATE.replace("{% elif line['type'] == 'video' %}{{ '<video>' }}", ''), modelTemplate);
  });
});

describe('golden prompts and token counts (transformers 5.18 on the real SmolVLM2 tokenizer)', { skip: skipUnlessShared(smolvlm2ReferenceDir) }, () => {
  const read = (file: string) => JSON.parse(readFileSync(path.join(smolvlm2ReferenceDir, file), 'utf8')) as object;
  const tokenizer = skipUnlessShared(smolvlm2ReferenceDir) ? undefined : new TextTokenizer(read('tokenizer.json'), read('tokenizer_config.json'));

  for (const golden of videoGolden.clips) {
    test(`${golden.clip.name} at ${golden.sampling.fps} fps, at most ${golden.sampling.maxFrames} frames`, () => {
      const frames = sampleFrames(golden.metadata, golden.sampling);
      const rendered = render([{ role: 'user', content: [{ type: 'video' }, { type: 'text', text: videoGolden.question }] }]);
      const prompt = expandVideoPlaceholders(rendered, [{ duration: golden.metadata.duration, timestamps: frames.map((f) => f.timestamp) }], IMAGE_BLOCK);
      assert.ok(prompt.includes(golden.intro), 'intro line');
      assert.equal(createHash('sha256').update(prompt).digest('hex'), golden.promptSha256);
      assert.equal(tokenizer!.encode(prompt).length, golden.promptTokens);
    });
  }
});

describe('fitVideoToContext: refuse or sample down before encoding', () => {
  const timing = { frameCount: 700, fps: 7, duration: 100 }; // 64 frames at the defaults
  const sampling = { fps: 1, maxFrames: 64 };
  // A stand-in prompt cost: 50 tokens of text and intro, 70 per frame (65 image tokens and the stamp).
  const countPromptTokens = (frames: readonly SampledFrame[]) => 50 + 70 * frames.length;

  test('a clip that fits is sampled as asked', () => {
    const fit = fitVideoToContext(timing, sampling, { contextSize: 8192, reservedTokens: 512, countPromptTokens });
    assert.equal(fit.frames.length, 64);
    assert.equal(fit.promptTokens, 50 + 70 * 64);
    assert.equal(fit.reducedFrom, undefined);
  });

  test('a clip that does not fit is refused with the numbers', () => {
    const budget = { contextSize: 2048, reservedTokens: 500, countPromptTokens };
    assert.throws(
      () => fitVideoToContext(timing, sampling, budget, { label: 'clip.mp4' }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'CONTEXT_OVERFLOW');
        assert.equal(
          error.message,
          'video "clip.mp4": with 64 frames (about 70 per frame) the prompt takes 4530 tokens, and with 500 kept for the answer ' +
            'that exceeds the 2048-token context; at most 21 frames would fit',
        );
        return true;
      },
    );
  });

  test('with fit, the largest maximum that fits is used and the result says so', () => {
    const fit = fitVideoToContext(timing, sampling, { contextSize: 2048, reservedTokens: 500, countPromptTokens }, { fit: true });
    assert.equal(fit.frames.length, 21);
    assert.equal(fit.maxFrames, 21);
    assert.equal(fit.reducedFrom, 64);
    assert.equal(fit.promptTokens, 50 + 70 * 21);
    assert.deepEqual(fit.frames, sampleFrames(timing, { ...sampling, maxFrames: 21 }));
  });

  test('not even one frame: refused even with fit', () => {
    assert.throws(
      () => fitVideoToContext(timing, sampling, { contextSize: 100, reservedTokens: 0, countPromptTokens }, { fit: true }),
      /not even one frame fits/,
    );
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import sharp from 'sharp';
import { Conversation, SmolVLM, isConversationVideo, parseTranscript, type ConversationMedia, type ConversationNotice, type PreparedImage } from '../../src/index.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';

let model: SmolVLM;
let imageFile: string;
let otherImage: string;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-conversation-'));

/** Sequence lengths of the decoder calls (the first call of a turn is its prefill) and vision encoder calls. */
const decoderCalls: number[] = [];
let visionCalls = 0;

async function gradient(file: string, width: number, height: number, step: number): Promise<void> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) pixels.set([(i * step) % 256, (i * 13) % 256, (i * 29) % 256], i * 3);
  await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toFile(file);
}

before(async () => {
  model = await SmolVLM.load(await ensureFixtureModel('tiny'), { dtype: 'fp32', threads: 1 });
  imageFile = path.join(tmp, 'gradient.png');
  otherImage = path.join(tmp, 'other image.png');
  await gradient(imageFile, 96, 64, 7);
  await gradient(otherImage, 40, 40, 3);
  const forward = model.decoder.forward.bind(model.decoder);
  model.decoder.forward = (embeds, seqLen, cache, allLogits) => {
    decoderCalls.push(seqLen);
    return forward(embeds, seqLen, cache, allLogits);
  };
  const encode = model.vision.encode.bind(model.vision);
  model.vision.encode = (...args) => {
    visionCalls++;
    return encode(...args);
  };
});
after(() => rmSync(tmp, { recursive: true, force: true }));
beforeEach(() => {
  decoderCalls.length = 0;
});

/** Length of the common prefix of two id lists. */
/** The prepared image of a conversation's image (these tests attach no videos). */
function picture(media: ConversationMedia | undefined): PreparedImage {
  assert.ok(media && !isConversationVideo(media), 'an image');
  return media.prepared;
}

const commonPrefix = (a: readonly number[], b: readonly number[]) => {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
};

describe('Conversation: KV cache reuse', () => {
  test('a follow-up turn prefills only the tokens it adds and answers as a fresh run over the whole conversation', async () => {
    const chat = new Conversation(model, { settings: { maxTokens: 10, split: false } });
    const first = await chat.ask('What is this?', [imageFile]).result;
    assert.equal(first.usage.cachedTokens, 0);
    assert.equal(decoderCalls[0], first.usage.promptTokens);
    const seen = [...chat.cache.ids];
    const kvLength = chat.cache.length;

    decoderCalls.length = 0;
    const second = await chat.ask('And the colours?').result;
    const prompt2 = model.tokenize(chat.toChatMessages().slice(0, -1), [picture(chat.messages[0]!.images[0])]).ids;
    assert.equal(second.usage.promptTokens, prompt2.length);
    // Everything the decoder saw that the new prompt starts with is reused, and only the rest is sent.
    assert.equal(second.usage.cachedTokens, commonPrefix(seen, prompt2));
    assert.ok(second.usage.cachedTokens >= first.usage.promptTokens, `${second.usage.cachedTokens} cached`);
    assert.equal(decoderCalls[0], second.usage.promptTokens - second.usage.cachedTokens);
    // An answer that starts with a space (as real models' do) is rendered back as it was generated: all of it is reused.
    if (/^\s/.test(first.text)) assert.equal(second.usage.cachedTokens, kvLength);

    decoderCalls.length = 0;
    const fresh = await model.generate({ messages: chat.toChatMessages().slice(0, -1), maxNewTokens: 10 }).result;
    assert.equal(fresh.usage.cachedTokens, 0);
    assert.equal(decoderCalls[0], fresh.usage.promptTokens);
    assert.deepEqual(second.ids, fresh.ids);
    assert.equal(second.answer, fresh.text.trim());
    assert.equal(chat.messages.at(-1)!.text, second.answer);
  });

  test('a one-token answer: turn 2 sends exactly the tokens after turn 1 prompt', async () => {
    const chat = new Conversation(model, { settings: { maxTokens: 1 } });
    const first = await chat.ask('Hello!').result;
    assert.equal(chat.cache.length, first.usage.promptTokens);
    decoderCalls.length = 0;
    const second = await chat.ask('How are you?').result;
    assert.equal(second.usage.cachedTokens, first.usage.promptTokens);
    assert.deepEqual(decoderCalls, [second.usage.promptTokens - first.usage.promptTokens]);
  });

  test('retry rewinds to the end of the user turn and gives the same greedy answer', async () => {
    const chat = new Conversation(model, { settings: { maxTokens: 12 } });
    await chat.ask('What is this?', [imageFile]).result;
    const answer = await chat.ask('Tell me more.').result;
    const visionBefore = visionCalls;
    decoderCalls.length = 0;
    const retried = await chat.retry().result;
    const images = chat.messages.flatMap((m) => m.images.map(picture));
    const throughUserTurn = model.tokenize(chat.toChatMessages().slice(0, -1), images, false).ids.length;
    // The prompt ends with "Assistant:"; everything before its last token comes from the cache.
    assert.equal(retried.usage.promptTokens, answer.usage.promptTokens);
    assert.equal(retried.usage.cachedTokens, retried.usage.promptTokens - 1);
    assert.ok(retried.usage.cachedTokens >= throughUserTurn);
    assert.equal(decoderCalls[0], 1);
    assert.deepEqual(retried.ids, answer.ids);
    assert.equal(visionCalls, visionBefore);
    assert.equal(chat.messages.length, 4);
    assert.equal(chat.messages.at(-1)!.text, answer.answer);
  });

  test('retry without an answer is refused', async () => {
    const chat = new Conversation(model);
    await assert.rejects(chat.retry().result, { code: 'USAGE' });
  });

  test('an image is encoded once over several turns and a fresh run', async () => {
    const chat = new Conversation(model, { settings: { maxTokens: 4, imageSize: 96 } });
    const before = visionCalls;
    await chat.ask('Look.', [otherImage]).result;
    await chat.ask('Again?').result;
    await chat.ask('And the same image again', [otherImage]).result;
    await model.generate({ messages: chat.toChatMessages(), maxNewTokens: 2 }).result;
    assert.equal(visionCalls - before, 1);
  });

  test('an aborted answer keeps its partial text and the next turn reuses the cache', async () => {
    const chat = new Conversation(model, { settings: { maxTokens: 200 } });
    const controller = new AbortController();
    let tokens = 0;
    const stopped = await chat.ask('Count.', [], { signal: controller.signal, onToken: () => ++tokens === 3 && controller.abort() }).result;
    assert.equal(stopped.finishReason, 'aborted');
    assert.equal(chat.messages.length, 2);
    assert.equal(chat.messages[1]!.finishReason, 'aborted');
    const next = await chat.ask('Go on.').result;
    assert.ok(next.usage.cachedTokens >= stopped.usage.promptTokens);
  });

  test('changing image settings re-tiles the images of the conversation', async () => {
    const chat = new Conversation(model, { settings: { maxTokens: 2 } });
    await chat.ask('What is this?', [imageFile]).result;
    const tiled = picture(chat.messages[0]!.images[0]).tileCount;
    chat.updateSettings({ split: false });
    const next = await chat.ask('Smaller?').result;
    assert.ok(tiled > 1);
    assert.equal(picture(chat.messages[0]!.images[0]).tileCount, 1);
    assert.equal(next.usage.images[0]!.tiles, 1);
    assert.throws(() => chat.updateSettings({ topP: 2 }), { code: 'USAGE' });
    assert.equal(chat.settings.topP, undefined);
  });
});

describe('Conversation: context limit', () => {
  test('the oldest turns are dropped, announced, when a turn would not fit', async () => {
    const chat = new Conversation(model, { contextLimit: 120, answerReserve: 8, settings: { maxTokens: 8 }, system: 'Be brief.' });
    const notices: ConversationNotice[] = [];
    for (let i = 0; i < 8; i++) {
      const result = await chat.ask(`Question number ${i} with a few words.`, [], { onNotice: (n) => notices.push(n) }).result;
      assert.ok(result.usage.promptTokens + 8 <= 120, `turn ${i}: ${result.usage.promptTokens} prompt tokens`);
      assert.ok(result.context.used <= 120);
    }
    assert.ok(notices.length > 0);
    assert.equal(notices[0]!.type, 'dropped');
    assert.match(notices[0]!.message, /dropped the oldest/);
    assert.equal(chat.system, 'Be brief.');
    assert.equal(chat.messages[0]!.role, 'user');
    assert.match(chat.messages.at(-2)!.text, /Question number 7/);
  });

  test('a turn too large on its own is refused and the conversation is unchanged', async () => {
    const chat = new Conversation(model, { contextLimit: 64, answerReserve: 4, settings: { maxTokens: 4 } });
    await chat.ask('Hi.').result;
    await assert.rejects(chat.ask('word '.repeat(80)).result, { code: 'CONTEXT_OVERFLOW' });
    assert.equal(chat.messages.length, 2);
    await chat.ask('Still here?').result;
    assert.equal(chat.messages.length, 4);
  });

  test("the 'refuse' policy refuses instead of dropping", async () => {
    const chat = new Conversation(model, { contextLimit: 60, answerReserve: 4, overflow: 'refuse', settings: { maxTokens: 4 } });
    await chat.ask('One two three four.').result;
    let refused = false;
    for (let i = 0; i < 10 && !refused; i++) {
      try {
        await chat.ask(`Question ${i}, a few more words.`).result;
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'CONTEXT_OVERFLOW');
        refused = true;
      }
    }
    assert.ok(refused);
    assert.match(chat.messages[0]!.text, /One two three four/);
    const usage = chat.contextUsage();
    assert.ok(usage.used <= usage.limit && usage.remaining === usage.limit - usage.used);
  });
});

describe('Conversation: transcripts', () => {
  test('toJSON / fromJSON round trip restores messages, images and settings', async () => {
    const chat = new Conversation(model, { system: 'You describe images.', modelName: 'tiny', settings: { maxTokens: 6, temperature: 0.5, seed: 3, split: false } });
    await chat.attach([otherImage]);
    await chat.ask('What is this?', [imageFile]).result;
    await chat.ask('Thanks.').result;
    const json = JSON.parse(JSON.stringify(chat));
    assert.equal(json.format, 'smolvlm-chat');
    assert.equal(json.version, 1);
    assert.deepEqual(json.settings, { temperature: 0.5, seed: 3, max_tokens: 6, split: false });
    assert.equal(json.messages[0].role, 'system');
    assert.deepEqual(
      json.messages[1].images.map((i: { source: string }) => i.source),
      [otherImage, imageFile],
    );

    const { conversation, missing } = await Conversation.fromJSON(model, json);
    assert.deepEqual(missing, []);
    assert.deepEqual(conversation.toJSON().messages, json.messages);
    assert.deepEqual(conversation.settings, chat.settings);
    assert.equal(conversation.system, 'You describe images.');
    assert.equal(conversation.contextUsage().used, chat.contextUsage().used);
    assert.equal(conversation.modelName, 'tiny');
    // The restored conversation continues like the original one (seeded sampling).
    const a = await chat.ask('More?').result;
    const b = await conversation.ask('More?').result;
    assert.deepEqual(a.ids, b.ids);
  });

  test('a missing image is reported and its message keeps its text; relative paths are tried against the transcript folder', async () => {
    const copy = path.join(tmp, 'copy.png');
    writeFileSync(copy, await sharp(imageFile).png().toBuffer());
    const transcript = {
      format: 'smolvlm-chat',
      version: 1,
      settings: {},
      messages: [
        { role: 'user', text: 'Two images', images: ['copy.png', { source: 'gone.png', path: path.join(tmp, 'gone.png') }] },
        { role: 'assistant', text: 'Yes.' },
      ],
    };
    const chat = new Conversation(model, { imageSource: { cwd: os.tmpdir() } });
    const report = await chat.restore(transcript, { baseDir: tmp });
    assert.equal(report.images, 1);
    assert.equal(report.missing.length, 1);
    assert.equal(report.missing[0]!.source, 'gone.png');
    assert.equal(report.missing[0]!.message, 0);
    assert.equal(chat.messages[0]!.text, 'Two images');
    assert.equal(chat.messages[0]!.images[0]!.path, copy);
  });

  test('an invalid transcript is refused and changes nothing', async () => {
    const chat = new Conversation(model, { settings: { maxTokens: 2 } });
    await chat.ask('Hi.').result;
    await assert.rejects(chat.restore({ format: 'other', messages: [] }), /not a smolvlm chat transcript/);
    await assert.rejects(chat.restore({ format: 'smolvlm-chat', version: 1, settings: { top_p: 3 }, messages: [] }), { code: 'USAGE' });
    await assert.rejects(chat.restore({ format: 'smolvlm-chat', version: 1, messages: [{ role: 'robot', text: '' }] }), /role/);
    assert.equal(chat.messages.length, 2);
  });

  test('a transcript written before the settings table still loads with the same settings, and is written back the same', async () => {
    // As smolvlm wrote it before its settings came from the table (every setting set; the key order of that version).
    const saved = {
      format: 'smolvlm-chat',
      version: 1,
      model: 'HuggingFaceTB/SmolVLM-256M-Instruct',
      saved: '2025-05-01T09:30:00.000Z',
      settings: { temperature: 0.7, top_k: 20, top_p: 0.9, min_p: 0.05, repetition_penalty: 1.2, seed: 42, max_tokens: 7, stop: ['###', '\n\n'], split: false, image_size: 96 },
      messages: [
        { role: 'system', text: 'Answer briefly.' },
        { role: 'user', text: 'What is in this picture?', images: [{ source: 'gradient.png', path: imageFile }] },
        { role: 'assistant', text: 'A gradient.', finish_reason: 'eos' },
      ],
    };
    const chat = new Conversation(model);
    const report = await chat.restore(saved);
    assert.deepEqual(report, { messages: 2, images: 1, missing: [] });
    assert.deepEqual(chat.settings, { temperature: 0.7, topK: 20, topP: 0.9, minP: 0.05, repetitionPenalty: 1.2, seed: 42, maxTokens: 7, stop: ['###', '\n\n'], split: false, imageSize: 96 });
    assert.equal(picture(chat.messages[0]!.images[0]).tileCount, 1, 'tiled with the transcript\'s split and image size');
    const written = chat.toJSON();
    assert.deepEqual(written.settings, saved.settings);
    assert.deepEqual(written.messages, saved.messages);
    assert.equal(written.model, saved.model);
    assert.deepEqual(Object.keys(written).sort(), ['format', 'messages', 'model', 'saved', 'settings', 'version']);
    assert.deepEqual(parseTranscript(saved).settings, saved.settings);
  });

  test('transcript settings: null means the default, and a bad value is refused naming the field', async () => {
    const transcript = (settings: Record<string, unknown>) => ({ format: 'smolvlm-chat', version: 1, settings, messages: [] });
    assert.deepEqual(parseTranscript(transcript({ seed: null, max_tokens: 9 })).settings, { max_tokens: 9 });
    const chat = new Conversation(model, { settings: { temperature: 0.5 } });
    await chat.restore(transcript({ seed: null }));
    assert.deepEqual(chat.settings, { maxTokens: 512 });
    assert.throws(() => parseTranscript(transcript({ top_p: 3 })), { code: 'USAGE', message: 'transcript settings: top_p must be in (0, 1]' });
    assert.throws(() => parseTranscript(transcript({ max_tokens: 2.5 })), /transcript settings: max_tokens must be an integer >= 1/);
    assert.throws(() => parseTranscript(transcript({ split: 'yes' })), /transcript settings: split must be true or false/);
    assert.throws(() => parseTranscript(transcript({ stop: ['ok', ''] })), /transcript settings: stop must be a list of non-empty strings/);
    assert.throws(() => parseTranscript(transcript({ topP: 0.5 })), /not a smolvlm chat transcript: unknown setting "topP"/);
    assert.throws(() => parseTranscript({ ...transcript({}), settings: [] }), /"settings" must be an object/);
  });

  test('updateSettings checks with the settings table and changes nothing on error', () => {
    const chat = new Conversation(model, { settings: { maxTokens: 4, stop: ['x'] } });
    assert.throws(() => chat.updateSettings({ temperature: 0.3, maxTokens: 0 }), { code: 'USAGE', message: 'max_tokens must be an integer >= 1' });
    assert.throws(() => chat.updateSettings({ nope: 1 } as never), /unknown setting nope/);
    assert.deepEqual(chat.settings, { maxTokens: 4, stop: ['x'] });
    chat.updateSettings({ maxTokens: undefined, stop: undefined, seed: 5 });
    assert.deepEqual(chat.settings, { maxTokens: 512, seed: 5 });
  });

  test('Markdown export', async () => {
    const chat = new Conversation(model, { system: 'Be kind.', settings: { maxTokens: 3 } });
    await chat.ask('Describe', [otherImage]).result;
    const md = chat.toMarkdown({ title: 'Test' });
    assert.match(md, /^# Test\n/);
    assert.match(md, /## System\n\nBe kind\./);
    assert.match(md, /## User\n\n!\[other image\.png\]\(<.*other image\.png>\)\n\nDescribe/);
    assert.match(md, /## Assistant/);
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { SmolVLM } from '../../src/index.js';
import type { ChatMessage } from '../../src/index.js';
import { conformanceDir, skipUnlessShared } from '../helpers/shared.js';

const skip = skipUnlessShared(conformanceDir);
const cases: any[] = skip ? [] : JSON.parse(readFileSync(path.join(conformanceDir, 'cases.json'), 'utf8')).cases;

const models = new Map<string, Promise<SmolVLM>>();
function model(name: string, dtype: string): Promise<SmolVLM> {
  const key = `${name}:${dtype}`;
  if (!models.has(key)) models.set(key, SmolVLM.load(path.join(conformanceDir, name), { dtype: dtype as any, threads: 1 }));
  return models.get(key)!;
}

function messagesOf(c: any): ChatMessage[] {
  return c.messages.map((m: any) => ({
    role: m.role,
    content: m.content.map((p: any) => (p.type === 'text' ? p : { type: 'image', image: path.join(conformanceDir, p.image) })),
  }));
}

function readPixels(c: any): Float32Array | undefined {
  const file = c.expected.pixel_values_file;
  if (!file) return undefined;
  const bytes = readFileSync(path.join(conformanceDir, file));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
}

describe('conformance: generation core', { skip }, () => {
  for (const c of cases) {
    test(`${c.id}: prompt and ids from messages`, async () => {
      const m = await model(c.model, c.dtype);
      const images = [];
      for (const part of messagesOf(c).flatMap((msg) => (typeof msg.content === 'string' ? [] : msg.content))) {
        if (part.type === 'image') {
          images.push(await m.prepareImage(part.image, { doImageSplitting: c.options.do_image_splitting, longestEdge: c.options.longest_edge ?? undefined }));
        }
      }
      const tokenized = m.tokenize(messagesOf(c), images);
      assert.equal(tokenized.prompt, c.expected.prompt);
      assert.deepEqual(images.map((i) => [i.rows, i.cols]), c.expected.image_grid ?? []);
      assert.deepEqual(tokenized.ids, c.expected.input_ids);
    });

    test(`${c.id}: greedy ids from the reference input ids and pixel values`, async () => {
      const m = await model(c.model, c.dtype);
      const pixels = readPixels(c);
      const tiles = c.expected.pixel_values_shape?.[1] ?? 0;
      const stream = m.generateFromIds(c.expected.input_ids, pixels, tiles, { maxNewTokens: c.options.max_new_tokens });
      const text = await stream.text();
      const result = await stream.result;
      assert.deepEqual(result.ids, c.expected.generated_ids);
      assert.equal(result.finishReason, c.expected.finish_reason);
      assert.equal(result.text, c.expected.text);
      assert.equal(text, c.expected.text);
    });

    // For image cases this also needs bit-exact pixels from the image files.
    test(`${c.id}: end to end from messages`, async () => {
      const m = await model(c.model, c.dtype);
      const result = await m.generate({
        messages: messagesOf(c),
        maxNewTokens: c.options.max_new_tokens,
        image: { doImageSplitting: c.options.do_image_splitting, longestEdge: c.options.longest_edge ?? undefined },
      }).result;
      assert.deepEqual(result.ids, c.expected.generated_ids);
      assert.equal(result.finishReason, c.expected.finish_reason);
    });
  }
  after(() => models.clear());
});

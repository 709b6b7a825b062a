/**
 * The performance changes must not change results: the rewritten decoder (last-row logits, new
 * key/value rows), the saved optimized graphs, the JS embedding table and vision tiles per call,
 * each checked bit for bit against the original files on the tiny fixture model, every dtype.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { EmbeddingTable } from '../../src/core/embedding-table.js';
import { float16ArrayToFloat32 } from '../../src/core/float16.js';
import { LOGITS_REWRITE, NEW_KV_PREFIX, writeDecoderWithLogitsToKeep } from '../../src/core/graph-patch.js';
import { createOptimizedSession } from '../../src/core/optimized-graph-cache.js';
import { SmolVLM } from '../../src/index.js';

const DTYPES = ['fp32', 'fp16', 'int8', 'uint8', 'q4', 'q4f16'] as const;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-perf-'));
let dir: string;
const file = (session: string, dtype: string) => path.join(dir, 'onnx', `${session}${dtype === 'fp32' ? '' : `_${dtype}`}.onnx`);

before(async () => {
  dir = await ensureFixtureModel('tiny');
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

async function prefillFeeds(session: ort.InferenceSession, seq: number): Promise<Record<string, ort.Tensor>> {
  const meta = session.inputMetadata as readonly { name: string; type?: string; shape?: readonly (number | string)[] }[];
  const hidden = meta.find((m) => m.name === 'inputs_embeds')!.shape![2] as number;
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor('float32', Float32Array.from({ length: seq * hidden }, (_, i) => Math.sin(i * 0.37)), [1, seq, hidden]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(seq).fill(1n), [1, seq]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: seq }, (_, i) => BigInt(i)), [1, seq]),
  };
  for (const m of meta.filter((x) => x.name.startsWith('past_key_values.'))) {
    const dims = [1, m.shape![1] as number, 0, m.shape![3] as number];
    feeds[m.name] = m.type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
  }
  return feeds;
}

const values = (t: ort.Tensor): ArrayLike<number> => t.data as unknown as ArrayLike<number>;

describe('decoder rewrite', () => {
  for (const dtype of DTYPES) {
    test(`${dtype}: last rows, all rows and new key/value rows are the original's`, async () => {
      const source = file('decoder_model_merged', dtype);
      const target = path.join(tmp, `decoder-${dtype}.onnx`);
      assert.equal(writeDecoderWithLogitsToKeep(source, target), undefined);
      const original = await ort.InferenceSession.create(source);
      const rewritten = await ort.InferenceSession.create(target);
      const seq = 9;
      const feeds = await prefillFeeds(original, seq);
      const want = await original.run(feeds);
      const vocab = want.logits!.dims[2]!;
      const lastTwo = await rewritten.run({ ...feeds, num_logits_to_keep: new ort.Tensor('int64', new BigInt64Array([2n]), []) });
      assert.deepEqual(lastTwo.logits!.dims, [1, 2, vocab]);
      const wantLogits = values(want.logits!);
      assert.ok(sameBits(Array.prototype.slice.call(values(lastTwo.logits!), vocab), Array.prototype.slice.call(wantLogits, (seq - 1) * vocab)));
      const all = await rewritten.run({ ...feeds, num_logits_to_keep: new ort.Tensor('int64', new BigInt64Array([0n]), []) });
      assert.ok(sameBits(values(all.logits!), wantLogits));
      for (const name of original.outputNames.filter((n) => n.startsWith('present.'))) {
        assert.ok(sameBits(values(lastTwo[name]!), values(want[name]!)), name);
        // With an empty past the new rows are the whole present.
        assert.ok(sameBits(values(lastTwo[name.replace('present.', NEW_KV_PREFIX)]!), values(want[name]!)), `${name} new rows`);
      }
    });
  }
});

describe('optimized-graph cache', () => {
  test('the saved optimized graph gives the same outputs, and a second load uses it', async () => {
    const cacheDir = path.join(tmp, 'cache');
    const source = file('decoder_model_merged', 'int8');
    const first = await createOptimizedSession(source, { cacheDir, rewrite: LOGITS_REWRITE, graphOptimizationLevel: 'all' });
    assert.equal(first.rewritten, true);
    const second = await createOptimizedSession(source, { cacheDir, rewrite: LOGITS_REWRITE, graphOptimizationLevel: 'all' });
    assert.equal(path.dirname(second.loadedFrom), cacheDir);
    const feeds = { ...(await prefillFeeds(first.session, 5)), num_logits_to_keep: new ort.Tensor('int64', new BigInt64Array([1n]), []) };
    const a = await first.session.run(feeds);
    const b = await second.session.run(feeds);
    for (const name of first.session.outputNames) assert.ok(sameBits(values(a[name]!), values(b[name]!)), name);
    assert.ok(readdirSync(cacheDir).some((n) => n.endsWith('.onnx.json')));
  });

  test('cacheDir: false loads the file as it is', async () => {
    const loaded = await createOptimizedSession(file('decoder_model_merged', 'fp32'), { cacheDir: false, rewrite: LOGITS_REWRITE });
    assert.equal(loaded.rewritten, false);
    assert.ok(!loaded.session.inputNames.includes('num_logits_to_keep'));
  });
});

describe('embedding table', () => {
  for (const dtype of [...DTYPES, 'quantized'] as const) {
    test(`${dtype}: rows equal the embed_tokens session's`, async () => {
      const source = file('embed_tokens', dtype);
      const table = EmbeddingTable.read(source);
      assert.ok(typeof table !== 'string', String(table));
      const session = await ort.InferenceSession.create(source);
      const ids = Array.from({ length: 64 }, (_, i) => (i * 37) % table.vocabSize);
      const out = (await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) })).inputs_embeds!;
      const want = out.type === 'float16' ? float16ArrayToFloat32(out.data as Uint16Array) : (out.data as Float32Array);
      assert.ok(sameBits(table.embed(ids), want));
      assert.throws(() => table.embed([table.vocabSize]), /outside the embedding table/);
    });
  }
});

describe('engine', () => {
  test('generation with the model cache equals generation from the original files (fp32, q4, int8)', async () => {
    for (const dtype of ['fp32', 'q4', 'int8'] as const) {
      const plain = await SmolVLM.load(dir, { dtype, threads: 1, cacheDir: false });
      const cached = await SmolVLM.load(dir, { dtype, threads: 1, cacheDir: path.join(tmp, 'engine-cache') });
      const request = { messages: [{ role: 'user' as const, content: 'Tell me about the sea and the ships on it.' }], maxNewTokens: 24 };
      assert.deepEqual((await cached.generate(request).result).ids, (await plain.generate(request).result).ids, dtype);
    }
  });

  test('vision features: one tile per call equals all tiles in one call for fp32 and q4', async () => {
    for (const dtype of ['fp32', 'q4'] as const) {
      const one = await SmolVLM.load(dir, { dtype, threads: 1, visionTilesPerCall: 1 });
      const all = await SmolVLM.load(dir, { dtype, threads: 1, visionTilesPerCall: 0 });
      const tiles = 5;
      const size = one.processorOptions.tileSize;
      const pixels = Float32Array.from({ length: tiles * 3 * size * size }, (_, i) => Math.sin(i * 0.01));
      assert.ok(sameBits(await one.vision.encode(pixels, tiles, size, 1), await all.vision.encode(pixels, tiles, size, 0)), dtype);
    }
  });
});

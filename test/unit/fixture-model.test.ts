import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import ort from 'onnxruntime-node';
import { CHAT_TEMPLATE } from '../../scripts/fixture-model/configs.js';
import { buildDecoder } from '../../scripts/fixture-model/decoder.js';
import { embeddingTable } from '../../scripts/fixture-model/embed.js';
import {
  ALL_DTYPES,
  type Dtype,
  ensureFixtureModel,
  estimateFixtureModel,
  generateFixtureModel,
  PRESETS,
  silentTokenIds,
  tokenLayout,
} from '../../scripts/fixture-model/index.js';
import { referenceDecoder, referenceVision } from '../../scripts/fixture-model/reference.js';
import { checkInt8 } from '../helpers/int8-closeness.js';
import { conformanceDir, referenceModelDir, skipUnlessShared } from '../helpers/shared.js';
import { float16ArrayToFloat32 } from '../../src/core/float16.js';

const tiny = PRESETS.tiny;
const text = tiny.dims.text;
const tile = tiny.dims.vision.imageSize;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-fixture-'));
let dir: string;

before(async () => {
  dir = await ensureFixtureModel('tiny');
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const readJson = (file: string): Record<string, any> => JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
const onnxPath = (session: string, dtype: Dtype, modelDir = dir) => path.join(modelDir, 'onnx', `${session}${dtype === 'fp32' ? '' : `_${dtype}`}.onnx`);
const sessions = new Map<string, ort.InferenceSession>();

async function session(name: string, dtype: Dtype, modelDir = dir): Promise<ort.InferenceSession> {
  const file = onnxPath(name, dtype, modelDir);
  let s = sessions.get(file);
  if (!s) {
    s = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
    sessions.set(file, s);
  }
  return s;
}

const toFloat32 = (t: ort.Tensor): Float32Array =>
  t.type === 'float16' ? float16ArrayToFloat32(t.data as Uint16Array) : (t.data as Float32Array);

const int64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);

function emptyCache(kvType: string): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < text.numHiddenLayers; i++) {
    for (const kind of ['key', 'value']) {
      const data = kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0);
      feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor(kvType as 'float32', data, [1, text.numKeyValueHeads, 0, text.headDim]);
    }
  }
  return feeds;
}

/** Embeddings [seq, hidden] of `ids` from the fp32 table. */
function embed(ids: number[]): Float32Array {
  const table = embeddingTable(text, 1234);
  const h = text.hiddenSize;
  const out = new Float32Array(ids.length * h);
  ids.forEach((id, i) => out.set(table.subarray(id * h, (id + 1) * h), i * h));
  return out;
}

/** Runs a decoder over `ids` in the given chunks with the KV cache; returns the logits of every position. */
async function runChunks(dtype: Dtype, ids: number[], chunks: number[], modelDir = dir): Promise<Float32Array> {
  const dec = await session('decoder_model_merged', dtype, modelDir);
  const kvType = dec.inputMetadata.find((m) => m.name === 'past_key_values.0.key')!;
  assert.ok(kvType.isTensor);
  let cache = emptyCache(kvType.type);
  const embeds = embed(ids);
  const h = text.hiddenSize;
  const out = new Float32Array(ids.length * text.vocabSize);
  let done = 0;
  for (const n of chunks) {
    const result = await dec.run({
      inputs_embeds: new ort.Tensor('float32', embeds.slice(done * h, (done + n) * h), [1, n, h]),
      attention_mask: int64(new Array(done + n).fill(1), [1, done + n]),
      position_ids: int64(Array.from({ length: n }, (_, i) => done + i), [1, n]),
      ...cache,
    });
    out.set(toFloat32(result.logits!), done * text.vocabSize);
    cache = {};
    for (let i = 0; i < text.numHiddenLayers; i++) {
      for (const kind of ['key', 'value']) {
        const present = result[`present.${i}.${kind}`]!;
        assert.deepEqual(present.dims, [1, text.numKeyValueHeads, done + n, text.headDim]);
        cache[`past_key_values.${i}.${kind}`] = present;
      }
    }
    done += n;
  }
  return out;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
function relativeRms(actual: Float32Array, expected: Float32Array): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    err += (actual[i]! - expected[i]!) ** 2;
    ref += expected[i]! ** 2;
  }
  return Math.sqrt(err / ref);
}

const PROMPT = [1, 274, 329, 353, 261, 352, 320, 262, 432, 49, 60, 61, 62];

function tiles(count: number): Float32Array {
  const px = new Float32Array(count * 3 * tile * tile);
  for (let i = 0; i < px.length; i++) px[i] = Math.sin(i * 0.37) * 0.9;
  return px;
}

async function imageFeatures(dtype: Dtype, pixels: Float32Array, dims: number[], modelDir = dir): Promise<ort.Tensor> {
  const vis = await session('vision_encoder', dtype, modelDir);
  const half = vis.inputMetadata[0]!.isTensor && vis.inputMetadata[0]!.type === 'float16';
  const pv = half
    ? new ort.Tensor('float16', Uint16Array.from(pixels, (v) => floatToHalf(v)), dims)
    : new ort.Tensor('float32', pixels, dims);
  const maskDims = [dims[0]!, dims[1]!, tile, tile];
  const mask = new ort.Tensor('bool', new Uint8Array(maskDims.reduce((a, b) => a * b)).fill(1), maskDims);
  return (await vis.run({ pixel_values: pv, pixel_attention_mask: mask })).image_features!;
}

function floatToHalf(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 112;
  if (exp <= 0) return sign;
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | (((u & 0x7fffff) + 0x1000) >> 13);
}

describe('fixture model files', () => {
  test('the tiny model has the official layout, small enough for tests', () => {
    const names = readdirSync(dir).sort();
    for (const file of ['config.json', 'generation_config.json', 'preprocessor_config.json', 'processor_config.json',
      'tokenizer.json', 'tokenizer_config.json', 'chat_template.json', 'special_tokens_map.json', 'added_tokens.json']) {
      assert.ok(names.includes(file), file);
    }
    let total = 0;
    for (const dtype of ALL_DTYPES) {
      for (const s of ['vision_encoder', 'embed_tokens', 'decoder_model_merged']) total += statSync(onnxPath(s, dtype)).size;
    }
    assert.ok(total < 2e6, `onnx files take ${total} bytes`);
    // Variants that are one file in the official repos are byte-identical here too.
    const same = (a: string, b: string) => assert.ok(readFileSync(a).equals(readFileSync(b)), `${a} == ${b}`);
    same(onnxPath('decoder_model_merged', 'quantized'), onnxPath('decoder_model_merged', 'uint8'));
    same(onnxPath('vision_encoder', 'quantized'), onnxPath('vision_encoder', 'uint8'));
    same(onnxPath('embed_tokens', 'uint8'), onnxPath('embed_tokens', 'int8'));
    same(onnxPath('embed_tokens', 'q4'), onnxPath('embed_tokens', 'fp32'));
  });

  test('config files describe the model and the special-token ids', () => {
    const config = readJson('config.json');
    const layout = tokenLayout(text.vocabSize, 0);
    assert.equal(config.model_type, 'idefics3');
    assert.equal(config.image_token_id, layout.image);
    assert.equal(config.scale_factor, 2);
    assert.equal(config.text_config.vocab_size, text.vocabSize);
    assert.equal(config.text_config.num_key_value_heads, 2);
    assert.equal(config.vision_config.image_size, tile);
    assert.equal(readJson('generation_config.json').eos_token_id, layout.endOfUtterance);
    assert.equal(readJson('processor_config.json').image_seq_len, 4);
    const pre = readJson('preprocessor_config.json');
    assert.deepEqual([pre.size.longest_edge, pre.max_image_size.longest_edge], [128, tile]);
    assert.equal(readJson('chat_template.json').chat_template, CHAT_TEMPLATE);
  });

  test('preprocessor and chat template match the real SmolVLM files', { skip: skipUnlessShared(referenceModelDir) }, () => {
    const real = (f: string) => JSON.parse(readFileSync(path.join(referenceModelDir, f), 'utf8'));
    assert.equal(CHAT_TEMPLATE, real('chat_template.json').chat_template);
    const ours = readJson('preprocessor_config.json');
    const theirs = real('preprocessor_config.json');
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort());
    for (const key of Object.keys(theirs)) if (key !== 'size' && key !== 'max_image_size') assert.deepEqual(ours[key], theirs[key], key);
  });

  test('the same seed gives byte-identical files, another seed other weights', async () => {
    const again = path.join(tmp, 'again');
    await generateFixtureModel({ preset: 'tiny', outDir: again });
    const list = (d: string) => [...readdirSync(d).filter((f) => f.endsWith('.json') && f !== 'fixture-stamp.json'), ...readdirSync(path.join(d, 'onnx')).map((f) => `onnx/${f}`)].sort();
    assert.deepEqual(list(again), list(dir));
    for (const f of list(dir)) assert.ok(readFileSync(path.join(dir, f)).equals(readFileSync(path.join(again, f))), f);

    const other = path.join(tmp, 'other');
    await generateFixtureModel({ preset: 'tiny', outDir: other, seed: 99, dtypes: ['fp32'] });
    const a = readFileSync(onnxPath('decoder_model_merged', 'fp32'));
    const b = readFileSync(path.join(other, 'onnx', 'decoder_model_merged.onnx'));
    assert.equal(a.length, b.length);
    assert.ok(!a.equals(b));
  });
});

describe('ONNX interface', () => {
  type Io = [name: string, type: string, shape: (number | string)[]];
  const ioOf = (metas: readonly ort.InferenceSession.ValueMetadata[]): Io[] =>
    metas.map((m) => (m.isTensor ? [m.name, m.type, [...m.shape]] : [m.name, 'non-tensor', []]));

  function expected(sessionName: string, dtype: Dtype): { inputs: Io[]; outputs: Io[] } {
    const half = dtype === 'fp16' || dtype === 'q4f16';
    const float = half ? 'float16' : 'float32';
    const seqLen = 4;
    if (sessionName === 'vision_encoder') {
      return {
        inputs: [
          ['pixel_values', float, ['batch_size', 'num_images', 3, tile, tile]],
          ['pixel_attention_mask', 'bool', ['batch_size', 'num_images', tile, tile]],
        ],
        outputs: [['image_features', float, ['num_real_images', seqLen, text.hiddenSize]]],
      };
    }
    if (sessionName === 'embed_tokens') {
      return {
        inputs: [['input_ids', 'int64', ['batch_size', 'sequence_length']]],
        outputs: [['inputs_embeds', float, ['batch_size', 'sequence_length', text.hiddenSize]]],
      };
    }
    const kv = (dim: string): (number | string)[] => ['batch_size', text.numKeyValueHeads, dim, text.headDim];
    const inputs: Io[] = [
      ['inputs_embeds', 'float32', ['batch_size', 'sequence_length', text.hiddenSize]],
      ['attention_mask', 'int64', ['batch_size', 'total_sequence_length']],
      ['position_ids', 'int64', ['batch_size', 'sequence_length']],
    ];
    const outputs: Io[] = [['logits', float, ['batch_size', 'sequence_length', text.vocabSize]]];
    for (let i = 0; i < text.numHiddenLayers; i++) {
      for (const kind of ['key', 'value']) {
        inputs.push([`past_key_values.${i}.${kind}`, float, kv('past_sequence_length')]);
        outputs.push([`present.${i}.${kind}`, float, kv('total_sequence_length')]);
      }
    }
    return { inputs, outputs };
  }

  for (const dtype of ALL_DTYPES) {
    test(`${dtype} files load with graph optimizations and expose the official inputs and outputs`, async () => {
      for (const name of ['vision_encoder', 'embed_tokens', 'decoder_model_merged']) {
        const s = await session(name, dtype);
        assert.deepEqual({ inputs: ioOf(s.inputMetadata), outputs: ioOf(s.outputMetadata) }, expected(name, dtype), `${name} ${dtype}`);
      }
    });
  }

  test('names, types and symbolic dims are those of the conformance model', { skip: skipUnlessShared(conformanceDir) }, async () => {
    const tinyA = path.join(conformanceDir, 'models', 'tiny-a', 'onnx');
    // Numbers differ with the model size; symbolic dims and everything else must not.
    const pattern = (io: Io[]) => io.map(([n, t, shape]) => [n, t, shape.map((d) => (typeof d === 'number' ? '#' : d))]);
    for (const dtype of ['fp32', 'int8', 'q4'] as const) {
      for (const name of ['vision_encoder', 'embed_tokens', 'decoder_model_merged']) {
        const theirs = await ort.InferenceSession.create(path.join(tinyA, `${name}${dtype === 'fp32' ? '' : `_${dtype}`}.onnx`));
        const ours = await session(name, dtype);
        assert.deepEqual(pattern(ioOf(ours.inputMetadata)), pattern(ioOf(theirs.inputMetadata)), `${name} ${dtype} inputs`);
        assert.deepEqual(pattern(ioOf(ours.outputMetadata)), pattern(ioOf(theirs.outputMetadata)), `${name} ${dtype} outputs`);
        await theirs.release();
      }
    }
  });
});

describe('decoder numerics', () => {
  const layout = tokenLayout(text.vocabSize, 0);

  test('fp32 logits equal a plain-JS Llama forward pass', async () => {
    const expectedLogits = referenceDecoder(
      { text, seed: 1234, eosTie: { ...tiny.eosTie, eosId: layout.endOfUtterance }, silentTokens: silentTokenIds(layout) },
      embed(PROMPT),
      PROMPT.map((_, i) => i),
    );
    assert.ok(maxAbsDiff(await runChunks('fp32', PROMPT, [PROMPT.length]), expectedLogits) < 1e-4);
  });

  for (const [dtype, tolerance] of [['fp32', 1e-4], ['fp16', 2e-2]] as const) {
    test(`${dtype}: one call, token by token and chunked prefill with the KV cache give the same logits`, async () => {
      const full = await runChunks(dtype, PROMPT, [PROMPT.length]);
      const stepwise = await runChunks(dtype, PROMPT, PROMPT.map(() => 1));
      const chunked = await runChunks(dtype, PROMPT, [5, 8]);
      const three = await runChunks(dtype, PROMPT, [1, 7, 5]);
      assert.ok(maxAbsDiff(stepwise, full) < tolerance, `token by token: ${maxAbsDiff(stepwise, full)}`);
      assert.ok(maxAbsDiff(chunked, full) < tolerance, `two chunks: ${maxAbsDiff(chunked, full)}`);
      assert.ok(maxAbsDiff(three, full) < tolerance, `three chunks: ${maxAbsDiff(three, full)}`);
    });
  }

  test('keys with attention_mask 0 are ignored', async () => {
    const dec = await session('decoder_model_merged', 'fp32');
    const ids = PROMPT.slice(0, 6);
    const padded = [layout.imEnd, ...ids];
    const h = text.hiddenSize;
    const run = (tokens: number[], mask: number[], positions: number[]) =>
      dec.run({
        inputs_embeds: new ort.Tensor('float32', embed(tokens), [1, tokens.length, h]),
        attention_mask: int64(mask, [1, mask.length]),
        position_ids: int64(positions, [1, positions.length]),
        ...emptyCache('float32'),
      });
    const plain = toFloat32((await run(ids, ids.map(() => 1), ids.map((_, i) => i))).logits!);
    const left = toFloat32((await run(padded, [0, ...ids.map(() => 1)], [0, ...ids.map((_, i) => i)])).logits!);
    assert.ok(maxAbsDiff(left.subarray(text.vocabSize), plain) < 1e-4);
  });

  test('fp16 and quantized decoders stay close to fp32', async (t) => {
    const ref = await runChunks('fp32', PROMPT, [PROMPT.length]);
    const limits: [Dtype, number][] = [['fp16', 0.01], ['uint8', 0.06], ['quantized', 0.06], ['q4', 0.3], ['q4f16', 0.3]];
    for (const [dtype, limit] of limits) {
      const err = relativeRms(await runChunks(dtype, PROMPT, [PROMPT.length]), ref);
      assert.ok(err < limit, `${dtype}: relative RMS error ${err}`);
    }
    await checkInt8(t, 0.06, dir, async (modelDir) => relativeRms(await runChunks('int8', PROMPT, [PROMPT.length], modelDir), ref));
  });

  test('greedy decoding is not degenerate and some generations end with eos', async () => {
    const tok = new Tokenizer(readJson('tokenizer.json'), readJson('tokenizer_config.json'));
    const dec = await session('decoder_model_merged', 'fp32');
    const prompts = ['Tell me a story.', 'Hello!', 'How many cats are there?', 'Read the sign.', 'What colors do you see?', 'Why is the sky blue?'];
    let endedWithEos = 0;
    for (const p of prompts) {
      const ids = tok.encode(`<|im_start|>User: ${p}<end_of_utterance>\nAssistant:`).ids;
      let cache = emptyCache('float32');
      let next: number[] = ids;
      const generated: number[] = [];
      while (generated.length < 16 && generated.at(-1) !== layout.endOfUtterance) {
        const total = ids.length + generated.length;
        const out = await dec.run({
          inputs_embeds: new ort.Tensor('float32', embed(next), [1, next.length, text.hiddenSize]),
          attention_mask: int64(new Array(total).fill(1), [1, total]),
          position_ids: int64(next.map((_, i) => total - next.length + i), [1, next.length]),
          ...cache,
        });
        const logits = toFloat32(out.logits!).subarray((next.length - 1) * text.vocabSize);
        let best = 0;
        for (let j = 1; j < text.vocabSize; j++) if (logits[j]! > logits[best]!) best = j;
        generated.push(best);
        next = [best];
        cache = {};
        for (let i = 0; i < text.numHiddenLayers; i++) {
          for (const kind of ['key', 'value']) cache[`past_key_values.${i}.${kind}`] = out[`present.${i}.${kind}`]!;
        }
      }
      if (generated.at(-1) === layout.endOfUtterance) endedWithEos++;
      assert.ok(new Set(generated).size >= Math.min(3, generated.length), `${p}: ${generated}`);
      assert.ok(generated.every((id) => id === layout.endOfUtterance || id >= 3 && id < layout.bpeSize), `${p}: ${generated}`);
    }
    assert.ok(endedWithEos > 0 && endedWithEos < prompts.length, `${endedWithEos} of ${prompts.length} ended with eos`);
  });
});

describe('vision encoder', () => {
  test('fp32 image features equal a plain-JS SigLIP + pixel shuffle + projection', async () => {
    const pixels = tiles(3);
    const out = await imageFeatures('fp32', pixels, [1, 3, 3, tile, tile]);
    assert.deepEqual(out.dims, [3, 4, text.hiddenSize]);
    assert.ok(maxAbsDiff(toFloat32(out), referenceVision(tiny.dims, 1234, pixels, 3)) < 1e-4);
  });

  test('all-zero (padding) images are dropped; one is kept when all are zero', async () => {
    const pixels = new Float32Array(4 * 3 * tile * tile);
    const two = tiles(2);
    pixels.set(two.subarray(0, 3 * tile * tile), 0);
    pixels.set(two.subarray(3 * tile * tile), 2 * 3 * tile * tile);
    const out = await imageFeatures('fp32', pixels, [2, 2, 3, tile, tile]);
    assert.deepEqual(out.dims, [2, 4, text.hiddenSize]);
    assert.ok(maxAbsDiff(toFloat32(out), referenceVision(tiny.dims, 1234, two, 2)) < 1e-4);
    const zeros = await imageFeatures('fp32', new Float32Array(2 * 3 * tile * tile), [1, 2, 3, tile, tile]);
    assert.deepEqual(zeros.dims, [1, 4, text.hiddenSize]);
  });

  test('fp16 and quantized vision encoders stay close to fp32', async (t) => {
    const pixels = tiles(2);
    const features = async (dtype: Dtype, modelDir = dir) => toFloat32(await imageFeatures(dtype, pixels, [1, 2, 3, tile, tile], modelDir));
    const ref = await features('fp32');
    const limits: [Dtype, number][] = [['fp16', 0.01], ['uint8', 0.1], ['quantized', 0.1], ['q4', 0.3], ['q4f16', 0.3]];
    for (const [dtype, limit] of limits) {
      const err = relativeRms(await features(dtype), ref);
      assert.ok(err < limit, `${dtype}: relative RMS error ${err}`);
    }
    await checkInt8(t, 0.1, dir, async (modelDir) => relativeRms(await features('int8', modelDir), ref));
  });
});

describe('tokenizer', () => {
  test('loads in @huggingface/tokenizers and round-trips text, digits and non-ASCII', () => {
    const tok = new Tokenizer(readJson('tokenizer.json'), readJson('tokenizer_config.json'));
    for (const sample of ['Hello World', 'Can you describe this image?', 'Grüße aus München! 東京 🚀 café naïve', 'a 12345 b', ' two  spaces\tand\nnewlines\n\n']) {
      assert.equal(tok.decode(tok.encode(sample).ids), sample);
    }
    assert.equal(tok.encode('12345').ids.length, 5);
    assert.equal(tok.encode('\n\n').ids.length, 1);
  });

  test('special tokens have the ids of the config files and every id decodes', () => {
    const tok = new Tokenizer(readJson('tokenizer.json'), readJson('tokenizer_config.json'));
    const config = readJson('config.json');
    const eos = readJson('generation_config.json').eos_token_id;
    const ids = tok.encode('<|im_start|><fake_token_around_image><row_2_col_3><image><global-img><end_of_utterance>').ids;
    const layout = tokenLayout(text.vocabSize, 0);
    assert.deepEqual(ids, [1, layout.fakeTokenAroundImage, layout.rowCol + 6 + 2, config.image_token_id, layout.globalImg, eos]);
    assert.equal(eos, text.vocabSize - 1);
    for (let id = 0; id < text.vocabSize; id++) assert.ok(tok.decode([id]).length > 0, `id ${id}`);
    assert.equal(tok.decode([config.image_token_id, 300], { skip_special_tokens: true }), tok.decode([300]));
  });
});

describe('full-size presets', () => {
  test('256m file sizes come within 3% of the official ones', () => {
    // Sizes of the official HuggingFaceTB/SmolVLM-256M-Instruct files (reference/SOURCES.md).
    const official: Record<string, number> = {
      'onnx/vision_encoder.onnx': 374316497,
      'onnx/vision_encoder_fp16.onnx': 187294693,
      'onnx/vision_encoder_int8.onnx': 94247927,
      'onnx/vision_encoder_q4.onnx': 63784987,
      'onnx/vision_encoder_q4f16.onnx': 55037584,
      'onnx/embed_tokens.onnx': 113541419,
      'onnx/embed_tokens_fp16.onnx': 56770946,
      'onnx/embed_tokens_int8.onnx': 28385824,
      'onnx/embed_tokens_q4.onnx': 113541438,
      'onnx/decoder_model_merged.onnx': 540640302,
      'onnx/decoder_model_merged_fp16.onnx': 270414183,
      'onnx/decoder_model_merged_int8.onnx': 137221530,
      'onnx/decoder_model_merged_uint8.onnx': 137221644,
      'onnx/decoder_model_merged_q4.onnx': 86562901,
      'onnx/decoder_model_merged_q4f16.onnx': 77034560,
    };
    const ours = new Map(estimateFixtureModel({ preset: '256m' }).map((f) => [f.path, f.bytes]));
    for (const [file, bytes] of Object.entries(official)) {
      const size = ours.get(file);
      assert.ok(size !== undefined && Math.abs(size / bytes - 1) < 0.03, `${file}: ${size} vs ${bytes}`);
    }
  });

  test('500m decoder graph has 32 layers of 5 kv heads and the real vocabulary', () => {
    const layout = tokenLayout(49280, 88);
    assert.deepEqual([layout.image, layout.endOfUtterance, layout.globalImg, layout.fakeTokenAroundImage], [49190, 49279, 49152, 49189]);
    const g = buildDecoder({ text: PRESETS['500m'].dims.text, seed: 1, mode: 'q4', eosTie: null });
    assert.equal(g.inputs.length, 3 + 2 * 32);
    assert.deepEqual(g.inputs[3]!.type!.tensorType!.shape!.dim!.map((d) => d.dimValue ?? d.dimParam), ['batch_size', 5, 'past_sequence_length', 64]);
    assert.equal(g.outputs[0]!.type!.tensorType!.shape!.dim![2]!.dimValue, 49280);
  });
});

describe('ensureFixtureModel', () => {
  test('generates once, reuses a current model and replaces a stale one', async () => {
    const root = path.join(tmp, 'generated');
    const first = await ensureFixtureModel('tiny', { root, dtypes: ['fp32'] });
    assert.equal(first, path.join(root, 'tiny'));
    const stampFile = path.join(first, 'fixture-stamp.json');
    const stampTime = statSync(stampFile).mtimeMs;
    assert.equal(await ensureFixtureModel('tiny', { root, dtypes: ['fp32'] }), first);
    assert.equal(statSync(stampFile).mtimeMs, stampTime);

    writeFileSync(stampFile, '{"stamp":"stale"}');
    await ensureFixtureModel('tiny', { root, dtypes: ['fp32'] });
    assert.notEqual(JSON.parse(readFileSync(stampFile, 'utf8')).stamp, 'stale');
    assert.deepEqual(readdirSync(root), ['tiny']);
    assert.ok(statSync(path.join(first, 'onnx', 'decoder_model_merged.onnx')).size > 0);
  });
});

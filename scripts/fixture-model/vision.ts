/**
 * `vision_encoder`: drops all-zero (padding) images, SigLIP-style encoder (Conv patch embedding,
 * position embeddings, pre-LayerNorm layers with multi-head attention masked by the patches of
 * pixel_attention_mask and a gelu(tanh) MLP, post LayerNorm), pixel shuffle, projection to the
 * text hidden size. Positions are always 0..P-1 (the Python model remaps them only for partially
 * masked images).
 */
import { bytesOf, DT, f, GraphBuilder } from './onnx-builder.js';
import type { ModelDims } from './presets.js';
import { imageSeqLen } from './presets.js';
import {
  computeType,
  floatBytes,
  linear,
  quantizeInt8Symmetric,
  quantizeUint8Asymmetric,
  shared,
  type Int8Range,
  type WeightMode,
} from './quantize.js';
import { randomTensor } from './weights.js';

export interface VisionOptions {
  dims: ModelDims;
  seed: number;
  mode: WeightMode;
  /** Float type of pixel_values / image_features for float16 variants. */
  halfIo: boolean;
  /** int8 weight range (default full, as the official files). */
  int8Range?: Int8Range;
}

const MASKED = -1e9;

type Param = () => Float32Array;

export interface VisionLayerParams {
  norm1: { weight: Param; bias: Param };
  /** Projections in PyTorch layout [out, in], each with a bias. */
  q: { weight: Param; bias: Param };
  k: { weight: Param; bias: Param };
  v: { weight: Param; bias: Param };
  out: { weight: Param; bias: Param };
  norm2: { weight: Param; bias: Param };
  fc1: { weight: Param; bias: Param };
  fc2: { weight: Param; bias: Param };
}

export interface VisionParams {
  /** [hidden, 3, patch, patch] and [hidden]. */
  patchWeight: Param;
  patchBias: Param;
  /** [patches, hidden]. */
  positions: Param;
  layers: VisionLayerParams[];
  postNorm: { weight: Param; bias: Param };
  /** [text hidden, hidden * scale^2], no bias. */
  projection: Param;
}

/** The vision encoder's weights (each generated on demand from the seed and its name). */
export function visionParams(dims: ModelDims, seed: number): VisionParams {
  const v = dims.vision;
  const h = v.hiddenSize;
  const side = v.imageSize / v.patchSize;
  const s2 = dims.scaleFactor * dims.scaleFactor;
  const rand = (name: string, size: number, std: number): Param => () =>
    randomTensor(seed, name, size, { kind: 'random', std });
  const norm = (name: string) => ({
    weight: () => randomTensor(seed, `${name}.weight`, h, { kind: 'around', center: 1, std: 0.1 }),
    bias: rand(`${name}.bias`, h, 0.02),
  });
  const dense = (name: string, inF: number, outF: number, std: number) => ({
    weight: rand(`${name}.weight`, inF * outF, std),
    bias: rand(`${name}.bias`, outF, 0.02),
  });
  const branch = 1 / Math.sqrt(2 * v.numHiddenLayers);
  const layers = Array.from({ length: v.numHiddenLayers }, (_, i): VisionLayerParams => {
    const p = `vision_model.encoder.layers.${i}`;
    return {
      norm1: norm(`${p}.layer_norm1`),
      q: dense(`${p}.self_attn.q_proj`, h, h, 1 / Math.sqrt(h)),
      k: dense(`${p}.self_attn.k_proj`, h, h, 1 / Math.sqrt(h)),
      v: dense(`${p}.self_attn.v_proj`, h, h, 1 / Math.sqrt(h)),
      out: dense(`${p}.self_attn.out_proj`, h, h, branch / Math.sqrt(h)),
      norm2: norm(`${p}.layer_norm2`),
      fc1: dense(`${p}.mlp.fc1`, h, v.intermediateSize, 1 / Math.sqrt(h)),
      fc2: dense(`${p}.mlp.fc2`, v.intermediateSize, h, branch / Math.sqrt(v.intermediateSize)),
    };
  });
  const fanIn = 3 * v.patchSize * v.patchSize;
  return {
    patchWeight: rand('vision_model.embeddings.patch_embedding.weight', h * fanIn, 1 / Math.sqrt(fanIn)),
    patchBias: rand('vision_model.embeddings.patch_embedding.bias', h, 0.02),
    positions: rand('vision_model.embeddings.position_embedding.weight', side * side * h, 0.5),
    layers,
    postNorm: norm('vision_model.post_layernorm'),
    projection: rand('connector.modality_projection.proj.weight', dims.text.hiddenSize * h * s2, 1 / Math.sqrt(h * s2)),
  };
}

export function buildVisionEncoder(o: VisionOptions): GraphBuilder {
  const v = o.dims.vision;
  const textHidden = o.dims.text.hiddenSize;
  const { hiddenSize: hidden, numAttentionHeads: nh, patchSize: patch, imageSize: m } = v;
  const hd = hidden / nh;
  const side = m / patch;
  const numPatches = side * side;
  const s = o.dims.scaleFactor;
  const seqLen = imageSeqLen(o.dims);
  const ct = computeType(o.mode);
  const half = ct === DT.FLOAT16;
  const ioType = half && o.halfIo ? DT.FLOAT16 : DT.FLOAT;
  const g = new GraphBuilder('vision_encoder');
  const params = visionParams(o.dims, o.seed);
  const floatParam = (name: string, dims: number[], values: Param): string =>
    g.initializer(name, ct, dims, () => floatBytes(values(), ct));
  const cast = (x: string, from: number, to: number): string => (from === to ? x : g.op('Cast', [x], { to }));

  const pixelValues = g.input('pixel_values', ioType, ['batch_size', 'num_images', 3, m, m]);
  const pixelMask = g.input('pixel_attention_mask', DT.BOOL, ['batch_size', 'num_images', m, m]);

  // Keep the images that have a non-zero value (all of them when none has, like the Python model keeps one).
  const [images, masks] = g.scoped('real_images', () => {
    const flat = g.op('Reshape', [pixelValues, g.i64([-1, 3, m, m])]);
    const flatMask = g.op('Reshape', [pixelMask, g.i64([-1, m, m])]);
    const peak = g.op('ReduceMax', [g.op('Abs', [cast(flat, ioType, DT.FLOAT)])], { axes: [1, 2, 3], keepdims: 0 });
    const isReal = g.op('Greater', [peak, g.scalar(0)]);
    const zero = g.i64([0], []);
    const count = g.op('Gather', [g.op('Shape', [flat]), zero], { axis: 0 });
    const isFirst = g.op('Equal', [g.op('Range', [zero, count, g.i64([1], [])]), zero]);
    const anyReal = g.op('ReduceMax', [g.op('Cast', [isReal], { to: DT.FLOAT })], { keepdims: 0 });
    const keep = g.op('Or', [isReal, g.op('And', [isFirst, g.op('Equal', [anyReal, g.scalar(0)])])]);
    const index = g.op('Reshape', [g.op('NonZero', [keep]), g.i64([-1])]);
    return [g.op('Gather', [flat, index], { axis: 0 }), g.op('Gather', [flatMask, index], { axis: 0 })];
  });

  // Key bias [n, 1, 1, patches]: a patch takes part when any of its pixels is unmasked.
  const keyBias = g.scoped('patch_mask', () => {
    const grid = g.op('Reshape', [g.op('Cast', [masks], { to: DT.FLOAT }), g.i64([-1, side, patch, side, patch])]);
    const patchOn = g.op('ReduceMax', [grid], { axes: [2, 4], keepdims: 0 });
    const flat = g.op('Reshape', [patchOn, g.i64([-1, 1, 1, numPatches])]);
    return g.op('Mul', [g.op('Sub', [flat, g.scalar(1)]), g.scalar(-MASKED)]);
  });

  const embeddings = g.scoped('embeddings', () => {
    const convAttrs = { kernel_shape: [patch, patch], strides: [patch, patch] };
    const wName = 'vision_model.embeddings.patch_embedding.weight';
    const bName = 'vision_model.embeddings.patch_embedding.bias';
    const weight = params.patchWeight;
    const biasValues = params.patchBias;
    let patches: string;
    if (o.mode === 'int8' || o.mode === 'uint8') {
      const signed = o.mode === 'int8';
      const qt = signed ? DT.INT8 : DT.UINT8;
      const quant = shared(3, () => {
        const w = weight();
        return signed ? { ...quantizeInt8Symmetric(w, o.int8Range), zeroPoint: 0 } : quantizeUint8Asymmetric(w);
      });
      const wq = g.initializer(`${wName}_quantized`, qt, [hidden, 3, patch, patch], () => bytesOf(quant().q));
      const ws = g.initializer(`${wName}_scale`, DT.FLOAT, [], () => bytesOf(Float32Array.of(quant().scale)));
      const wz = g.initializer(`${wName}_zero_point`, qt, [], () =>
        signed ? bytesOf(Int8Array.of(quant().zeroPoint)) : Uint8Array.of(quant().zeroPoint),
      );
      const [xq, xs, xz] = g.opN('DynamicQuantizeLinear', [images], {}, { outputs: 3 }) as [string, string, string];
      const acc = g.op('Cast', [g.op('ConvInteger', [xq, wq, xz, wz], convAttrs)], { to: DT.FLOAT });
      const b = g.initializer(`${bName}_reshaped`, DT.FLOAT, [1, hidden, 1, 1], () => bytesOf(biasValues()));
      patches = g.op('Add', [g.op('Mul', [acc, g.op('Mul', [xs, ws])]), b]);
    } else {
      // q4 exports keep the Conv in float32, as the official ones do.
      const convType = o.mode === 'q4' ? DT.FLOAT : ct;
      const w = g.initializer(wName, convType, [hidden, 3, patch, patch], () => floatBytes(weight(), convType));
      const b = g.initializer(bName, convType, [hidden], () => floatBytes(biasValues(), convType));
      patches = cast(g.op('Conv', [cast(images, ioType, convType), w, b], convAttrs), convType, ct);
    }
    const tokens = g.op('Transpose', [g.op('Reshape', [patches, g.i64([0, hidden, numPatches])])], { perm: [0, 2, 1] });

    const pName = 'vision_model.embeddings.position_embedding.weight';
    const positions = params.positions;
    let table: string;
    if (o.mode === 'int8' || o.mode === 'uint8') {
      const quant = shared(3, () => quantizeUint8Asymmetric(positions()));
      const q = g.initializer(`${pName}_quantized`, DT.UINT8, [numPatches, hidden], () => quant().q);
      const sc = g.initializer(`${pName}_scale`, DT.FLOAT, [], () => bytesOf(Float32Array.of(quant().scale)));
      const zp = g.initializer(`${pName}_zero_point`, DT.UINT8, [], () => Uint8Array.of(quant().zeroPoint));
      table = g.op('DequantizeLinear', [q, sc, zp]);
    } else {
      const tableType = o.mode === 'q4' ? DT.FLOAT : ct;
      table = cast(g.initializer(pName, tableType, [numPatches, hidden], () => floatBytes(positions(), tableType)), tableType, ct);
    }
    return g.op('Add', [tokens, table]);
  });

  const layerNorm = (x: string, name: string, p: { weight: Param; bias: Param }): string =>
    g.op(
      'LayerNormalization',
      [x, floatParam(`${name}.weight`, [hidden], p.weight), floatParam(`${name}.bias`, [hidden], p.bias)],
      { axis: -1, epsilon: f(v.layerNormEps) },
    );

  const dense = (x: string, name: string, inF: number, outF: number, p: { weight: Param; bias?: Param }): string =>
    linear(g, x, { name, inFeatures: inF, outFeatures: outF, weight: p.weight, ...(p.bias ? { bias: p.bias } : {}) }, o.mode, o.int8Range);

  const gelu = (x: string): string => {
    const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
    const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.scalar(0.044715, ct)])]), g.scalar(Math.sqrt(2 / Math.PI), ct)]);
    const gate = g.op('Add', [g.op('Tanh', [inner]), g.scalar(1, ct)]);
    return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5, ct)]), gate]);
  };

  let x = embeddings;
  for (let i = 0; i < v.numHiddenLayers; i++) {
    const p = `vision_model.encoder.layers.${i}`;
    const w = params.layers[i]!;
    x = g.scoped(`layers.${i}`, () => {
      const h = layerNorm(x, `${p}.layer_norm1`, w.norm1);
      const split = (y: string, perm: number[]) =>
        g.op('Transpose', [g.op('Reshape', [y, g.i64([0, 0, nh, hd])])], { perm });
      const q = split(dense(h, `${p}.self_attn.q_proj`, hidden, hidden, w.q), [0, 2, 1, 3]);
      const kT = split(dense(h, `${p}.self_attn.k_proj`, hidden, hidden, w.k), [0, 2, 3, 1]);
      const val = split(dense(h, `${p}.self_attn.v_proj`, hidden, hidden, w.v), [0, 2, 1, 3]);
      const scores = g.op('MatMul', [g.op('Mul', [q, g.scalar(1 / Math.sqrt(hd), ct)]), kT]);
      const probs = cast(g.op('Softmax', [g.op('Add', [cast(scores, ct, DT.FLOAT), keyBias])], { axis: -1 }), DT.FLOAT, ct);
      const ctx = g.op('Transpose', [g.op('MatMul', [probs, val])], { perm: [0, 2, 1, 3] });
      const attn = dense(g.op('Reshape', [ctx, g.i64([0, 0, hidden])]), `${p}.self_attn.out_proj`, hidden, hidden, w.out);
      const mid = g.op('Add', [x, attn]);
      const h2 = layerNorm(mid, `${p}.layer_norm2`, w.norm2);
      const up = gelu(dense(h2, `${p}.mlp.fc1`, hidden, v.intermediateSize, w.fc1));
      const down = dense(up, `${p}.mlp.fc2`, v.intermediateSize, hidden, w.fc2);
      return g.op('Add', [mid, down]);
    });
  }
  x = layerNorm(x, 'vision_model.post_layernorm', params.postNorm);

  // Pixel shuffle (Idefics3Connector.pixel_shuffle) then the modality projection.
  const shuffled = g.scoped('connector', () => {
    let y = g.op('Reshape', [x, g.i64([0, side, side / s, hidden * s])]);
    y = g.op('Transpose', [y], { perm: [0, 2, 1, 3] });
    y = g.op('Reshape', [y, g.i64([0, side / s, side / s, hidden * s * s])]);
    y = g.op('Transpose', [y], { perm: [0, 2, 1, 3] });
    return g.op('Reshape', [y, g.i64([0, seqLen, hidden * s * s])]);
  });
  const features = dense(shuffled, 'connector.modality_projection.proj', hidden * s * s, textHidden, {
    weight: params.projection,
  });
  g.output(cast(features, ct, ioType), 'image_features', ioType, ['num_real_images', seqLen, textHidden]);
  return g;
}

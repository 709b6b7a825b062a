/**
 * `decoder_model_merged`: a Llama decoder (RMSNorm, RoPE from position_ids, grouped-query
 * attention over past + new keys with a causal mask combined with attention_mask, SwiGLU MLP,
 * final norm, lm_head) with the official input/output names and symbolic dims.
 */
import { DT, GraphBuilder } from './onnx-builder.js';
import type { EosTie, TextDims } from './presets.js';
import { computeType, floatBytes, linear, type Int8Range, type WeightMode } from './quantize.js';
import { randomTensor } from './weights.js';

export interface DecoderOptions {
  text: TextDims;
  seed: number;
  mode: WeightMode;
  /** Id of `<end_of_utterance>` and the row it is tied to, or null. */
  eosTie: (EosTie & { eosId: number }) | null;
  /** Token ids whose logits are always 0 (the added special tokens except eos). */
  silentTokens?: readonly number[];
  /** int8 weight range (default full, as the official files). */
  int8Range?: Int8Range;
}

const MASKED = -1e9;

/** Weights of one decoder layer, PyTorch layouts ([out, in] for projections). */
export interface DecoderLayerParams {
  inputNorm: () => Float32Array;
  q: () => Float32Array;
  k: () => Float32Array;
  v: () => Float32Array;
  o: () => Float32Array;
  postNorm: () => Float32Array;
  gate: () => Float32Array;
  up: () => Float32Array;
  down: () => Float32Array;
}

export interface DecoderParams {
  layers: DecoderLayerParams[];
  norm: () => Float32Array;
  /** [vocab, hidden], with the eos row tied as configured. */
  lmHead: () => Float32Array;
}

/** The decoder's weights (each generated on demand from the seed and its name). */
export function decoderParams(o: Pick<DecoderOptions, 'text' | 'seed' | 'eosTie' | 'silentTokens'>): DecoderParams {
  const t = o.text;
  const { hiddenSize: h, numAttentionHeads: nq, numKeyValueHeads: nkv, headDim: hd, intermediateSize: inter } = t;
  const rand = (name: string, size: number, std: number) => () => randomTensor(o.seed, name, size, { kind: 'random', std });
  const norm = (name: string) => () => randomTensor(o.seed, name, h, { kind: 'around', center: 1, std: 0.1 });
  // Residual branches shrink with depth so the stream stays O(1); lm_head gives logits of std ~3.
  const branch = 2 / Math.sqrt(2 * t.numHiddenLayers);
  const layers = Array.from({ length: t.numHiddenLayers }, (_, i): DecoderLayerParams => {
    const p = `model.layers.${i}`;
    return {
      inputNorm: norm(`${p}.input_layernorm.weight`),
      q: rand(`${p}.self_attn.q_proj.weight`, nq * hd * h, 1 / Math.sqrt(h)),
      k: rand(`${p}.self_attn.k_proj.weight`, nkv * hd * h, 1 / Math.sqrt(h)),
      v: rand(`${p}.self_attn.v_proj.weight`, nkv * hd * h, 1 / Math.sqrt(h)),
      o: rand(`${p}.self_attn.o_proj.weight`, h * nq * hd, branch / Math.sqrt(nq * hd)),
      postNorm: norm(`${p}.post_attention_layernorm.weight`),
      gate: rand(`${p}.mlp.gate_proj.weight`, inter * h, 1 / Math.sqrt(h)),
      up: rand(`${p}.mlp.up_proj.weight`, inter * h, 1 / Math.sqrt(h)),
      down: rand(`${p}.mlp.down_proj.weight`, h * inter, branch / Math.sqrt(inter)),
    };
  });
  const lmHead = (): Float32Array => {
    const w = randomTensor(o.seed, 'lm_head.weight', t.vocabSize * h, { kind: 'random', std: 3 / Math.sqrt(h) });
    // Special tokens (other than eos) get zero logits: random weights would otherwise emit `<image>`,
    // `<row_1_col_1>`, ... now and then, which no real model does.
    for (const id of o.silentTokens ?? []) w.fill(0, id * h, (id + 1) * h);
    if (o.eosTie) {
      const { tokenId, eosId, boost } = o.eosTie;
      for (let i = 0; i < h; i++) {
        const x = w[tokenId * h + i]! * boost;
        w[tokenId * h + i] = x;
        w[eosId * h + i] = x * 1.02;
      }
    }
    return w;
  };
  return { layers, norm: norm('model.norm.weight'), lmHead };
}

export function buildDecoder(o: DecoderOptions): GraphBuilder {
  const t = o.text;
  const { hiddenSize: hidden, numAttentionHeads: nq, numKeyValueHeads: nkv, headDim: hd, intermediateSize: inter } = t;
  const groups = nq / nkv;
  const ct = computeType(o.mode);
  const half = ct === DT.FLOAT16;
  const g = new GraphBuilder('decoder_model_merged');
  const params = decoderParams(o);

  const inputsEmbeds = g.input('inputs_embeds', DT.FLOAT, ['batch_size', 'sequence_length', hidden]);
  const attentionMask = g.input('attention_mask', DT.INT64, ['batch_size', 'total_sequence_length']);
  const positionIds = g.input('position_ids', DT.INT64, ['batch_size', 'sequence_length']);
  const kvDims = ['batch_size', nkv, 'past_sequence_length', hd];
  const past = Array.from({ length: t.numHiddenLayers }, (_, i) => ({
    key: g.input(`past_key_values.${i}.key`, ct, kvDims),
    value: g.input(`past_key_values.${i}.value`, ct, kvDims),
  }));

  const toFloat = (x: string): string => (half ? g.op('Cast', [x], { to: DT.FLOAT }) : x);
  const toCompute = (x: string): string => (half ? g.op('Cast', [x], { to: DT.FLOAT16 }) : x);

  // Additive mask [batch, 1, 1, seq, total]: query i (absolute position past + i) sees key j <= past + i
  // where attention_mask[j] == 1.
  const bias = g.scoped('mask', () => {
    const one = g.i64([1], []);
    const zero = g.i64([0], []);
    const seq = g.op('Gather', [g.op('Shape', [inputsEmbeds]), one], { axis: 0 });
    const total = g.op('Gather', [g.op('Shape', [attentionMask]), one], { axis: 0 });
    const pastLen = g.op('Sub', [total, seq]);
    const queryPos = g.op('Unsqueeze', [g.op('Add', [g.op('Range', [zero, seq, one]), pastLen]), g.i64([1])]);
    const keyPos = g.op('Range', [zero, total, one]);
    const causal = g.op('LessOrEqual', [keyPos, queryPos]);
    const padding = g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: DT.BOOL }), g.i64([1, 2, 3])]);
    const allowed = g.op('And', [causal, padding]);
    return g.op('Where', [allowed, g.scalar(0), g.scalar(MASKED)]);
  });

  // RoPE tables [batch, 1, seq, head_dim] from position_ids (computed in float32).
  const [cos, sin] = g.scoped('rotary', () => {
    const invFreq = new Float32Array(hd / 2);
    for (let i = 0; i < hd / 2; i++) invFreq[i] = 1 / Math.pow(t.ropeTheta, (2 * i) / hd);
    const pos = g.op('Unsqueeze', [g.op('Cast', [positionIds], { to: DT.FLOAT }), g.i64([2])]);
    const freqs = g.op('Mul', [pos, g.constant(DT.FLOAT, [hd / 2], invFreq)]);
    const emb = g.op('Unsqueeze', [g.op('Concat', [freqs, freqs], { axis: -1 }), g.i64([1])]);
    return [toCompute(g.op('Cos', [emb])), toCompute(g.op('Sin', [emb]))];
  });

  const rmsNorm = (x: string, name: string, weight: () => Float32Array): string => {
    const w = g.initializer(name, ct, [hidden], () => floatBytes(weight(), ct));
    const xf = toFloat(x);
    const variance = g.op('ReduceMean', [g.op('Mul', [xf, xf])], { axes: [-1], keepdims: 1 });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.scalar(t.rmsNormEps)])])]);
    return g.op('Mul', [toCompute(g.op('Mul', [xf, inv])), w]);
  };

  const halfSplit = g.i64([hd / 2, hd / 2]);
  const rope = (x: string): string => {
    const [x1, x2] = g.opN('Split', [x, halfSplit], { axis: -1 }, { outputs: 2 }) as [string, string];
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  };

  const heads = (x: string, n: number): string =>
    g.op('Transpose', [g.op('Reshape', [x, g.i64([0, 0, n, hd])])], { perm: [0, 2, 1, 3] });

  const proj = (x: string, name: string, inF: number, outF: number, weight: () => Float32Array): string =>
    linear(g, x, { name, inFeatures: inF, outFeatures: outF, weight }, o.mode, o.int8Range);

  let x = toCompute(inputsEmbeds);
  const presents: string[] = [];
  for (let i = 0; i < t.numHiddenLayers; i++) {
    const p = `model.layers.${i}`;
    const w = params.layers[i]!;
    x = g.scoped(`layers.${i}`, () => {
      const h = rmsNorm(x, `${p}.input_layernorm.weight`, w.inputNorm);
      const q = rope(heads(proj(h, `${p}.self_attn.q_proj`, hidden, nq * hd, w.q), nq));
      const k = rope(heads(proj(h, `${p}.self_attn.k_proj`, hidden, nkv * hd, w.k), nkv));
      const v = heads(proj(h, `${p}.self_attn.v_proj`, hidden, nkv * hd, w.v), nkv);
      const presentKey = g.op('Concat', [past[i]!.key, k], { axis: 2 });
      const presentValue = g.op('Concat', [past[i]!.value, v], { axis: 2 });
      presents.push(presentKey, presentValue);

      // Grouped-query attention without repeating K/V: query heads [b, kv, group, seq, d] against
      // keys [b, kv, 1, total, d] (query head h uses kv head floor(h / group), as repeat_kv does).
      const q5 = g.op('Reshape', [g.op('Mul', [q, g.scalar(1 / Math.sqrt(hd), ct)]), g.i64([0, nkv, groups, -1, hd])]);
      const k5 = g.op('Transpose', [g.op('Unsqueeze', [presentKey, g.i64([2])])], { perm: [0, 1, 2, 4, 3] });
      const v5 = g.op('Unsqueeze', [presentValue, g.i64([2])]);
      const scores = g.op('Add', [toFloat(g.op('MatMul', [q5, k5])), bias]);
      const probs = toCompute(g.op('Softmax', [scores], { axis: -1 }));
      const ctx5 = g.op('MatMul', [probs, v5]);
      const ctx = g.op('Transpose', [g.op('Reshape', [ctx5, g.i64([0, nq, -1, hd])])], { perm: [0, 2, 1, 3] });
      const attn = proj(g.op('Reshape', [ctx, g.i64([0, 0, nq * hd])]), `${p}.self_attn.o_proj`, nq * hd, hidden, w.o);
      const afterAttn = g.op('Add', [x, attn]);

      const h2 = rmsNorm(afterAttn, `${p}.post_attention_layernorm.weight`, w.postNorm);
      const gate = proj(h2, `${p}.mlp.gate_proj`, hidden, inter, w.gate);
      const up = proj(h2, `${p}.mlp.up_proj`, hidden, inter, w.up);
      const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
      const down = proj(act, `${p}.mlp.down_proj`, inter, hidden, w.down);
      return g.op('Add', [afterAttn, down]);
    });
  }

  const normed = rmsNorm(x, 'model.norm.weight', params.norm);
  const logits = linear(
    g,
    normed,
    { name: 'lm_head', inFeatures: hidden, outFeatures: t.vocabSize, weight: params.lmHead },
    o.mode,
    o.int8Range,
  );

  g.output(logits, 'logits', ct, ['batch_size', 'sequence_length', t.vocabSize]);
  const presentDims = ['batch_size', nkv, 'total_sequence_length', hd];
  for (let i = 0; i < t.numHiddenLayers; i++) {
    g.output(presents[2 * i]!, `present.${i}.key`, ct, presentDims);
    g.output(presents[2 * i + 1]!, `present.${i}.value`, ct, presentDims);
  }
  return g;
}


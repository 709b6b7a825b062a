/**
 * Plain-JS forward passes of the fixture models (float64 arithmetic, straight from the PyTorch
 * definitions of Llama and the Idefics3 vision tower), for checking the ONNX graphs. Slow: meant for
 * the tiny preset.
 */
import { decoderParams, type DecoderOptions } from './decoder.js';
import type { ModelDims } from './presets.js';
import { imageSeqLen } from './presets.js';
import { visionParams } from './vision.js';

type Vec = Float64Array;

/** y[r] = W x + b for W [out, in] row-major (PyTorch Linear). */
function linear(x: ArrayLike<number>, w: Float32Array, out: number, inF: number, bias?: Float32Array): Vec {
  const y = new Float64Array(out);
  for (let r = 0; r < out; r++) {
    let acc = bias ? bias[r]! : 0;
    const base = r * inF;
    for (let c = 0; c < inF; c++) acc += w[base + c]! * x[c]!;
    y[r] = acc;
  }
  return y;
}

function rmsNorm(x: Vec, w: Float32Array, eps: number): Vec {
  let ms = 0;
  for (const v of x) ms += v * v;
  const inv = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, i) => v * inv * w[i]!);
}

function layerNorm(x: Vec, w: Float32Array, b: Float32Array, eps: number): Vec {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2;
  const inv = 1 / Math.sqrt(variance / x.length + eps);
  return x.map((v, i) => (v - mean) * inv * w[i]! + b[i]!);
}

function softmaxInPlace(x: Vec): void {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] = Math.exp(x[i]! - max);
  for (let i = 0; i < x.length; i++) x[i]! /= sum;
}

/** Logits [seq, vocab] for a whole sequence with an empty cache (every position attends causally). */
export function referenceDecoder(
  o: Pick<DecoderOptions, 'text' | 'seed' | 'eosTie' | 'silentTokens'>,
  embeds: Float32Array,
  positions: readonly number[],
): Float32Array {
  const t = o.text;
  const { hiddenSize: h, numAttentionHeads: nq, numKeyValueHeads: nkv, headDim: hd, intermediateSize: inter } = t;
  const seq = positions.length;
  const p = decoderParams(o);
  let x: Vec[] = Array.from({ length: seq }, (_, i) => Float64Array.from(embeds.subarray(i * h, (i + 1) * h)));

  const rope = (v: Vec, heads: number, pos: number): void => {
    for (let head = 0; head < heads; head++) {
      const base = head * hd;
      for (let i = 0; i < hd / 2; i++) {
        const angle = pos / Math.pow(t.ropeTheta, (2 * i) / hd);
        const a = v[base + i]!;
        const b = v[base + i + hd / 2]!;
        v[base + i] = a * Math.cos(angle) - b * Math.sin(angle);
        v[base + i + hd / 2] = b * Math.cos(angle) + a * Math.sin(angle);
      }
    }
  };

  for (const w of p.layers) {
    const [inputNorm, wq, wk, wv, wo, postNorm, wg, wu, wd] = [
      w.inputNorm(), w.q(), w.k(), w.v(), w.o(), w.postNorm(), w.gate(), w.up(), w.down(),
    ];
    const qs: Vec[] = [];
    const ks: Vec[] = [];
    const vs: Vec[] = [];
    for (let i = 0; i < seq; i++) {
      const hn = rmsNorm(x[i]!, inputNorm, t.rmsNormEps);
      const q = linear(hn, wq, nq * hd, h);
      const k = linear(hn, wk, nkv * hd, h);
      rope(q, nq, positions[i]!);
      rope(k, nkv, positions[i]!);
      qs.push(q);
      ks.push(k);
      vs.push(linear(hn, wv, nkv * hd, h));
    }
    x = x.map((xi, i) => {
      const ctx = new Float64Array(nq * hd);
      for (let head = 0; head < nq; head++) {
        const kvHead = Math.floor(head / (nq / nkv));
        const scores = new Float64Array(i + 1);
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += qs[i]![head * hd + d]! * ks[j]![kvHead * hd + d]!;
          scores[j] = dot / Math.sqrt(hd);
        }
        softmaxInPlace(scores);
        for (let j = 0; j <= i; j++) {
          for (let d = 0; d < hd; d++) ctx[head * hd + d]! += scores[j]! * vs[j]![kvHead * hd + d]!;
        }
      }
      const attn = linear(ctx, wo, h, nq * hd);
      const mid = xi.map((v, c) => v + attn[c]!);
      const hn = rmsNorm(mid, postNorm, t.rmsNormEps);
      const gate = linear(hn, wg, inter, h);
      const up = linear(hn, wu, inter, h);
      const act = gate.map((g, c) => (g / (1 + Math.exp(-g))) * up[c]!);
      const down = linear(act, wd, h, inter);
      return mid.map((v, c) => v + down[c]!);
    });
  }
  const norm = p.norm();
  const head = p.lmHead();
  const logits = new Float32Array(seq * t.vocabSize);
  x.forEach((xi, i) => logits.set(linear(rmsNorm(xi, norm, t.rmsNormEps), head, t.vocabSize, h), i * t.vocabSize));
  return logits;
}

/** image_features [images, image_seq_len, text hidden] for tiles [images, 3, M, M] (all pixels valid). */
export function referenceVision(dims: ModelDims, seed: number, pixels: Float32Array, images: number): Float32Array {
  const v = dims.vision;
  const { hiddenSize: h, numAttentionHeads: nh, patchSize: ps, imageSize: m } = v;
  const hd = h / nh;
  const side = m / ps;
  const np = side * side;
  const s = dims.scaleFactor;
  const seqLen = imageSeqLen(dims);
  const textHidden = dims.text.hiddenSize;
  const p = visionParams(dims, seed);
  const [patchW, patchB, positions, projection] = [p.patchWeight(), p.patchBias(), p.positions(), p.projection()];
  const layers = p.layers.map((l) => ({
    n1w: l.norm1.weight(), n1b: l.norm1.bias(), qw: l.q.weight(), qb: l.q.bias(), kw: l.k.weight(), kb: l.k.bias(),
    vw: l.v.weight(), vb: l.v.bias(), ow: l.out.weight(), ob: l.out.bias(), n2w: l.norm2.weight(), n2b: l.norm2.bias(),
    f1w: l.fc1.weight(), f1b: l.fc1.bias(), f2w: l.fc2.weight(), f2b: l.fc2.bias(),
  }));
  const [postW, postB] = [p.postNorm.weight(), p.postNorm.bias()];
  const out = new Float32Array(images * seqLen * textHidden);

  for (let img = 0; img < images; img++) {
    const px = pixels.subarray(img * 3 * m * m, (img + 1) * 3 * m * m);
    let x: Vec[] = [];
    for (let py = 0; py < side; py++) {
      for (let pxl = 0; pxl < side; pxl++) {
        const e = new Float64Array(h);
        for (let o = 0; o < h; o++) {
          let acc = patchB[o]!;
          for (let c = 0; c < 3; c++) {
            for (let dy = 0; dy < ps; dy++) {
              for (let dx = 0; dx < ps; dx++) {
                acc += patchW[((o * 3 + c) * ps + dy) * ps + dx]! * px[(c * m + py * ps + dy) * m + pxl * ps + dx]!;
              }
            }
          }
          e[o] = acc + positions[(py * side + pxl) * h + o]!;
        }
        x.push(e);
      }
    }
    for (const l of layers) {
      const hn = x.map((xi) => layerNorm(xi, l.n1w, l.n1b, v.layerNormEps));
      const q = hn.map((r) => linear(r, l.qw, h, h, l.qb));
      const k = hn.map((r) => linear(r, l.kw, h, h, l.kb));
      const val = hn.map((r) => linear(r, l.vw, h, h, l.vb));
      x = x.map((xi, i) => {
        const ctx = new Float64Array(h);
        for (let head = 0; head < nh; head++) {
          const scores = new Float64Array(np);
          for (let j = 0; j < np; j++) {
            let dot = 0;
            for (let d = 0; d < hd; d++) dot += q[i]![head * hd + d]! * k[j]![head * hd + d]!;
            scores[j] = dot / Math.sqrt(hd);
          }
          softmaxInPlace(scores);
          for (let j = 0; j < np; j++) for (let d = 0; d < hd; d++) ctx[head * hd + d]! += scores[j]! * val[j]![head * hd + d]!;
        }
        const attn = linear(ctx, l.ow, h, h, l.ob);
        const mid = xi.map((a, c) => a + attn[c]!);
        const up = linear(layerNorm(mid, l.n2w, l.n2b, v.layerNormEps), l.f1w, v.intermediateSize, h, l.f1b).map(
          (u) => 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u * u * u))),
        );
        const down = linear(up, l.f2w, h, v.intermediateSize, l.f2b);
        return mid.map((a, c) => a + down[c]!);
      });
    }
    x = x.map((xi) => layerNorm(xi, postW, postB, v.layerNormEps));
    // Pixel shuffle: output token (i, j) concatenates the s x s block of patches (row offset a, column
    // offset c, then channel) starting at patch (i*s, j*s).
    for (let i = 0; i < side / s; i++) {
      for (let j = 0; j < side / s; j++) {
        const cat = new Float64Array(h * s * s);
        for (let a = 0; a < s; a++) {
          for (let c = 0; c < s; c++) cat.set(x[(i * s + a) * side + (j * s + c)]!, (a * s + c) * h);
        }
        out.set(linear(cat, projection, textHidden, h * s * s), (img * seqLen + i * (side / s) + j) * textHidden);
      }
    }
  }
  return out;
}

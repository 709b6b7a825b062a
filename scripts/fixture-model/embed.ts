/** `embed_tokens`: one Gather on the embedding table (quantized variants dequantize the gathered rows). */
import { bytesOf, DT, GraphBuilder } from './onnx-builder.js';
import type { Dtype, TextDims } from './presets.js';
import { floatBytes, quantizeUint8Asymmetric, shared } from './quantize.js';
import { randomTensor } from './weights.js';

export interface EmbedOptions {
  text: TextDims;
  seed: number;
  dtype: Dtype;
  /** float16 variants output float16 embeddings (else they are cast to float32 inside). */
  halfIo: boolean;
}

export const EMBED_NAME = 'model.embed_tokens.weight';

export function embeddingTable(text: TextDims, seed: number): Float32Array {
  return randomTensor(seed, EMBED_NAME, text.vocabSize * text.hiddenSize, { kind: 'random', std: 1 });
}

export function buildEmbedTokens(o: EmbedOptions): GraphBuilder {
  const { vocabSize: vocab, hiddenSize: hidden } = o.text;
  const g = new GraphBuilder('embed_tokens');
  const ids = g.input('input_ids', DT.INT64, ['batch_size', 'sequence_length']);
  const outDims = ['batch_size', 'sequence_length', hidden];
  const table = () => embeddingTable(o.text, o.seed);

  switch (o.dtype) {
    // The official int8, uint8 and quantized files are one and the same uint8 table.
    case 'int8':
    case 'uint8':
    case 'quantized': {
      const quant = shared(3, () => quantizeUint8Asymmetric(table()));
      const q = g.initializer(`${EMBED_NAME}_quantized`, DT.UINT8, [vocab, hidden], () => quant().q);
      const scale = g.initializer(`${EMBED_NAME}_scale`, DT.FLOAT, [], () => bytesOf(Float32Array.of(quant().scale)));
      const zp = g.initializer(`${EMBED_NAME}_zero_point`, DT.UINT8, [], () => Uint8Array.of(quant().zeroPoint));
      const rows = g.op('Gather', [q, ids], { axis: 0 });
      g.output(g.op('DequantizeLinear', [rows, scale, zp]), 'inputs_embeds', DT.FLOAT, outDims);
      break;
    }
    case 'fp16':
    case 'q4f16': {
      const w = g.initializer(EMBED_NAME, DT.FLOAT16, [vocab, hidden], () => floatBytes(table(), DT.FLOAT16));
      const rows = g.op('Gather', [w, ids], { axis: 0 });
      if (o.halfIo) g.output(rows, 'inputs_embeds', DT.FLOAT16, outDims);
      else g.output(g.op('Cast', [rows], { to: DT.FLOAT }), 'inputs_embeds', DT.FLOAT, outDims);
      break;
    }
    // q4 keeps the table in float32, as the official embed_tokens_q4 does.
    case 'fp32':
    case 'q4': {
      const w = g.initializer(EMBED_NAME, DT.FLOAT, [vocab, hidden], () => bytesOf(table()));
      g.output(g.op('Gather', [w, ids], { axis: 0 }), 'inputs_embeds', DT.FLOAT, outDims);
      break;
    }
  }
  return g;
}

/**
 * Vision encoder graph rewrite: attention blocks into com.microsoft.MultiHeadAttention
 * (vision-attention-fusion.ts), tanh GELUs into com.microsoft.FastGelu (vision-gelu-fusion.ts) and the
 * int8 patch embedding's ConvInteger into a MatMulInteger (vision-patch-embedding.ts): what onnxruntime's
 * CPU provider runs faster but does not make itself from these exports (docs: scripts/bench-vision.ts
 * measures it; on a 256M int8 tile it takes ~0.75 of the CPU time of the original file).
 *
 * Float32 features equal the original graph's within ~1e-6 relative (test/unit/vision-graph-rewrite.test.ts).
 * int8 files quantize each activation with a scale taken from the values, so float rounding differences
 * move some quantized values by one step: 256M int8 features differ from the original's by ~1.5e-2
 * relative RMS, well inside the 0.1 the int8 files are allowed against float32.
 *
 * Applied once per file through the optimized-graph cache (optimized-graph-cache.ts), like the
 * decoder's rewrite (graph-patch.ts); when no block matches (float16 files, other exports) nothing is
 * written and the file loads as it is.
 */
import { onnx, type ModelOutline, type NodeProto } from './onnx-file.js';
import { GraphIndex, liveNodes, readNames } from './onnx-graph-index.js';
import { rewriteModelFile, writeEditedModel, type GraphEdit } from './onnx-graph-writer.js';
import { attentionNodes, matchAttention, MS_DOMAIN } from './vision-attention-fusion.js';
import { geluNode, matchGelu } from './vision-gelu-fusion.js';
import { patchConvKernel, patchMatMulNodes } from './vision-patch-embedding.js';
import type { GraphRewrite } from './optimized-graph-cache.js';

/** Bump when the rewrite changes: cached copies of another version are not used. */
export const VISION_REWRITE_VERSION = 1;

export interface VisionFusions {
  attention: boolean;
  gelu: boolean;
  patchEmbedding: boolean;
}

const ALL_FUSIONS: VisionFusions = { attention: true, gelu: true, patchEmbedding: true };

const PREFIX = 'smolvlm_fused/';

/** Plans the rewrite: the new graph's nodes and the shape annotations that no longer hold, or why it does not apply. */
export function planVisionRewrite(outline: ModelOutline, fusions: VisionFusions = ALL_FUSIONS): GraphEdit | string {
  // The CPU kernels of both fused ops are float32 only.
  if ([...outline.initializers.values()].some((i) => i.dataType === onnx.TensorProto.DataType.FLOAT16)) return 'the graph has float16 weights';
  // External data is found relative to the model file, so a copy elsewhere would not find it.
  if ([...outline.initializers.values()].some((i) => i.external)) return 'the weights are in external data files';
  const g = new GraphIndex(outline);
  const replaced = new Map<NodeProto, NodeProto[]>();
  let attention = 0;
  let gelu = 0;
  let patches = 0;
  const conditions = new Map<string, string>();
  for (const node of outline.nodes) {
    if (fusions.attention && node.opType === 'Softmax') {
      const match = matchAttention(g, node);
      if (match && !replaced.has(match.anchor)) replaced.set(match.anchor, attentionNodes(match, `${PREFIX}attention_${attention++}/`, conditions));
    } else if (fusions.gelu && node.opType === 'Tanh') {
      const match = matchGelu(g, node);
      if (match && !replaced.has(match.anchor)) replaced.set(match.anchor, [geluNode(match, `${PREFIX}gelu_${gelu++}`)]);
    } else if (fusions.patchEmbedding && node.opType === 'ConvInteger') {
      const kernel = patchConvKernel(g, node);
      if (kernel) replaced.set(node, patchMatMulNodes(node, kernel, `${PREFIX}patches_${patches++}/`));
    }
  }
  if (replaced.size === 0) return 'no attention or GELU block matches';
  const rewritten = outline.nodes.flatMap((node) => replaced.get(node) ?? [node]);
  const nodes = liveNodes(rewritten, g.graphOutputs);
  const kept = new Set(nodes.flatMap((n) => n.output));
  const removed = new Set(outline.nodes.flatMap((n) => n.output).filter((name) => !kept.has(name)));
  const read = new Set(nodes.flatMap(readNames));
  const orphaned = new Set(outline.nodes.flatMap((n) => n.input).filter((name) => outline.initializers.has(name) && !read.has(name)));
  return { nodes, dropValueInfo: removed, dropInitializers: orphaned, opsets: [{ domain: MS_DOMAIN, version: 1 }] };
}

/**
 * Writes the fused copy of the vision encoder at `source` to `target` (atomically). Returns undefined,
 * or why the rewrite does not apply (then nothing is written).
 */
export function writeFusedVisionEncoder(source: string, target: string, fusions: VisionFusions = ALL_FUSIONS): string | undefined {
  return rewriteModelFile(source, target, (outline) => planVisionRewrite(outline, fusions), writeEditedModel);
}

/** The rewrite for the optimized-graph cache (optimized-graph-cache.ts). */
export const VISION_REWRITE: GraphRewrite = {
  tag: `vision-fusions-v${VISION_REWRITE_VERSION}`,
  write: (source, target) => writeFusedVisionEncoder(source, target),
};

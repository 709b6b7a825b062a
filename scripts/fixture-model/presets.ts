/** Model dimensions, file variants and the built-in presets. */

export interface VisionDims {
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  /** Tile size M (pixels); also `max_image_size.longest_edge`. */
  imageSize: number;
  patchSize: number;
  layerNormEps: number;
}

export interface TextDims {
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  intermediateSize: number;
  /** Total number of token ids (BPE vocab + added tokens) = logits width. */
  vocabSize: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
}

/** `video_sampling` of a SmolVLM2 preprocessor config: models with it take video. */
export interface VideoSamplingDims {
  fps: number;
  maxFrames: number;
  /** `video_size.longest_edge`: the first resize of a frame (the tile size in the official repos). */
  longestEdge: number;
}

export interface ModelDims {
  vision: VisionDims;
  text: TextDims;
  scaleFactor: number;
  /** `size.longest_edge` of the image processor. */
  longestEdge: number;
  /** `<|reserved_special_token_k|>` added tokens between `<image>` and `<end_of_utterance>` (88 in the real models). */
  reservedSpecialTokens: number;
  /** Present for a SmolVLM2 (video) model: its files then say SmolVLM, as SmolVLM2's do. */
  video?: VideoSamplingDims;
}

/** File variants, named by their transformers.js dtype (suffix `_<dtype>`, none for fp32). */
export const ALL_DTYPES = ['fp32', 'fp16', 'int8', 'uint8', 'quantized', 'q4', 'q4f16'] as const;
export type Dtype = (typeof ALL_DTYPES)[number];

export function isDtype(value: string): value is Dtype {
  return (ALL_DTYPES as readonly string[]).includes(value);
}

export function dtypeSuffix(dtype: Dtype): string {
  return dtype === 'fp32' ? '' : `_${dtype}`;
}

/** Ties the `<end_of_utterance>` logits row to a token so that some generations end with eos. */
export interface EosTie {
  /** BPE token whose lm_head row eos copies (slightly enlarged, so eos wins whenever this token would). */
  tokenId: number;
  /** Factor applied to that token's row first, to make it (and so eos) come up more often. */
  boost: number;
}

export interface PresetDefinition {
  dims: ModelDims;
  dtypes: Dtype[];
  eosTie: EosTie | null;
}

const SMOLVLM_VISION: VisionDims = {
  hiddenSize: 768,
  numHiddenLayers: 12,
  numAttentionHeads: 12,
  intermediateSize: 3072,
  imageSize: 512,
  patchSize: 16,
  layerNormEps: 1e-6,
};

const TINY_DIMS: ModelDims = {
  vision: {
    hiddenSize: 32,
    numHiddenLayers: 2,
    numAttentionHeads: 2,
    intermediateSize: 64,
    imageSize: 32,
    patchSize: 8,
    layerNormEps: 1e-6,
  },
  text: {
    hiddenSize: 32,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    headDim: 8,
    intermediateSize: 64,
    vocabSize: 512,
    ropeTheta: 100000,
    maxPositionEmbeddings: 8192,
    rmsNormEps: 1e-5,
  },
  scaleFactor: 2,
  longestEdge: 128,
  reservedSpecialTokens: 0,
};

export const PRESETS = {
  /** For unit and e2e tests: 4 image tokens per 32 px tile, long edge 128 px (4x4 tiles max). */
  tiny: {
    dims: TINY_DIMS,
    dtypes: ['fp32', 'fp16', 'int8', 'uint8', 'quantized', 'q4', 'q4f16'],
    eosTie: { tokenId: 300, boost: 2 },
  },
  /** `tiny` as a SmolVLM2 Video-Instruct model: `video_sampling` (1 fps, 64 frames, frames to the tile size). */
  'tiny-video': {
    dims: { ...TINY_DIMS, video: { fps: 1, maxFrames: 64, longestEdge: TINY_DIMS.vision.imageSize } },
    dtypes: ['fp32', 'fp16', 'int8', 'uint8', 'quantized', 'q4', 'q4f16'],
    eosTie: { tokenId: 300, boost: 2 },
  },
  /** SmolVLM-256M-Instruct dimensions (benchmarks). */
  '256m': {
    dims: {
      vision: SMOLVLM_VISION,
      text: {
        hiddenSize: 576,
        numHiddenLayers: 30,
        numAttentionHeads: 9,
        numKeyValueHeads: 3,
        headDim: 64,
        intermediateSize: 1536,
        vocabSize: 49280,
        ropeTheta: 100000,
        maxPositionEmbeddings: 8192,
        rmsNormEps: 1e-5,
      },
      scaleFactor: 4,
      longestEdge: 2048,
      reservedSpecialTokens: 88,
    },
    dtypes: ['fp32', 'fp16', 'int8', 'uint8', 'quantized', 'q4', 'q4f16'],
    eosTie: { tokenId: 1000, boost: 2 },
  },
  /** SmolVLM-500M-Instruct dimensions (benchmarks). */
  '500m': {
    dims: {
      vision: SMOLVLM_VISION,
      text: {
        hiddenSize: 960,
        numHiddenLayers: 32,
        numAttentionHeads: 15,
        numKeyValueHeads: 5,
        headDim: 64,
        intermediateSize: 2560,
        vocabSize: 49280,
        ropeTheta: 100000,
        maxPositionEmbeddings: 8192,
        rmsNormEps: 1e-5,
      },
      scaleFactor: 4,
      longestEdge: 2048,
      reservedSpecialTokens: 88,
    },
    dtypes: ['fp32', 'fp16', 'int8', 'uint8', 'quantized', 'q4', 'q4f16'],
    eosTie: { tokenId: 1000, boost: 2 },
  },
} satisfies Record<string, PresetDefinition>;

export type PresetName = keyof typeof PRESETS;

export function isPresetName(value: string): value is PresetName {
  return Object.hasOwn(PRESETS, value);
}

/** Tokens of one image tile: (M / patch)^2 / scale^2. */
export function imageSeqLen(dims: ModelDims): number {
  const side = dims.vision.imageSize / dims.vision.patchSize;
  return (side * side) / (dims.scaleFactor * dims.scaleFactor);
}

/** Throws on dimensions the graphs cannot represent. */
export function validateDims(dims: ModelDims): void {
  const { vision: v, text: t } = dims;
  const fail = (msg: string): never => {
    throw new Error(`invalid fixture model dims: ${msg}`);
  };
  if (v.imageSize % v.patchSize) fail('vision.imageSize must be a multiple of patchSize');
  const side = v.imageSize / v.patchSize;
  if (side % dims.scaleFactor) fail('patches per side must be a multiple of scaleFactor');
  if (v.hiddenSize % v.numAttentionHeads) fail('vision.hiddenSize must be a multiple of numAttentionHeads');
  if (t.numAttentionHeads % t.numKeyValueHeads) fail('text.numAttentionHeads must be a multiple of numKeyValueHeads');
  if (t.headDim % 2) fail('text.headDim must be even');
  if (dims.longestEdge % v.imageSize) fail('longestEdge must be a multiple of the tile size');
  if (dims.video && !(dims.video.fps > 0 && Number.isInteger(dims.video.maxFrames) && dims.video.maxFrames > 0 && dims.video.longestEdge > 0)) {
    fail('video sampling needs fps > 0, a positive integer maxFrames and a positive longestEdge');
  }
}

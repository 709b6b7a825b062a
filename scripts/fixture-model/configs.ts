/** The JSON files of a model directory (idefics3 layout, values from the model dims). */
import type { ModelDims } from './presets.js';
import { imageSeqLen } from './presets.js';
import type { TokenLayout } from './tokenizer.js';

/**
 * The SmolVLM chat template (public, identical for the 256M and 500M models, and for SmolVLM2's, whose
 * `chat_template.json` has no video case: transformers' processor brings its own template for video).
 */
export const CHAT_TEMPLATE =
  "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

const KV_CACHE_DTYPE = { q4f16: 'float16', fp16: 'float16' };

/** The architecture names the files use: SmolVLM2 (video) repos say SmolVLM where SmolVLM's say Idefics3. */
function family(dims: ModelDims): { architecture: string; modelType: string; visionType: string; imageProcessor: string; processor: string } {
  return dims.video
    ? { architecture: 'SmolVLMForConditionalGeneration', modelType: 'smolvlm', visionType: 'smolvlm_vision', imageProcessor: 'SmolVLMImageProcessor', processor: 'SmolVLMProcessor' }
    : { architecture: 'Idefics3ForConditionalGeneration', modelType: 'idefics3', visionType: 'idefics3', imageProcessor: 'Idefics3ImageProcessor', processor: 'Idefics3Processor' };
}

export function buildConfig(dims: ModelDims, layout: TokenLayout): Record<string, unknown> {
  const { vision: v, text: t } = dims;
  const names = family(dims);
  return {
    architectures: [names.architecture],
    image_token_id: layout.image,
    model_type: names.modelType,
    scale_factor: dims.scaleFactor,
    text_config: {
      architectures: ['VLlama3ForCausalLM'],
      attention_bias: false,
      bos_token_id: layout.imStart,
      eos_token_id: layout.imEnd,
      head_dim: t.headDim,
      hidden_act: 'silu',
      hidden_size: t.hiddenSize,
      intermediate_size: t.intermediateSize,
      max_position_embeddings: t.maxPositionEmbeddings,
      mlp_bias: false,
      model_type: 'llama',
      num_attention_heads: t.numAttentionHeads,
      num_hidden_layers: t.numHiddenLayers,
      num_key_value_heads: t.numKeyValueHeads,
      pad_token_id: layout.imEnd,
      rms_norm_eps: t.rmsNormEps,
      rope_scaling: null,
      rope_theta: t.ropeTheta,
      tie_word_embeddings: false,
      'transformers.js_config': { kv_cache_dtype: KV_CACHE_DTYPE },
      use_cache: true,
      vocab_size: t.vocabSize,
    },
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    transformers_version: '4.46.0',
    'transformers.js_config': { kv_cache_dtype: KV_CACHE_DTYPE },
    use_cache: true,
    vision_config: {
      hidden_act: 'gelu_pytorch_tanh',
      hidden_size: v.hiddenSize,
      image_size: v.imageSize,
      intermediate_size: v.intermediateSize,
      layer_norm_eps: v.layerNormEps,
      max_image_size: { longest_edge: v.imageSize },
      model_type: names.visionType,
      num_attention_heads: v.numAttentionHeads,
      num_channels: 3,
      num_hidden_layers: v.numHiddenLayers,
      patch_size: v.patchSize,
      size: { longest_edge: dims.longestEdge },
    },
    vocab_size: t.vocabSize,
  };
}

export function buildGenerationConfig(layout: TokenLayout): Record<string, unknown> {
  return {
    _from_model_config: true,
    bos_token_id: layout.endOfText,
    eos_token_id: layout.endOfUtterance,
    pad_token_id: layout.imEnd,
    transformers_version: '4.46.0',
  };
}

/** Same keys and values as the real `preprocessor_config.json` (SmolVLM's, or SmolVLM2's with video) except the sizes. */
export function buildPreprocessorConfig(dims: ModelDims): Record<string, unknown> {
  const names = family(dims);
  const video = dims.video
    ? { video_sampling: { fps: dims.video.fps, max_frames: dims.video.maxFrames, video_size: { longest_edge: dims.video.longestEdge } } }
    : {};
  return {
    do_convert_rgb: true,
    do_image_splitting: true,
    do_normalize: true,
    do_pad: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_processor_type: names.imageProcessor,
    image_std: [0.5, 0.5, 0.5],
    max_image_size: { longest_edge: dims.vision.imageSize },
    processor_class: names.processor,
    resample: 1,
    rescale_factor: 0.00392156862745098,
    size: { longest_edge: dims.longestEdge },
    ...video,
  };
}

export function buildProcessorConfig(dims: ModelDims): Record<string, unknown> {
  return { image_seq_len: imageSeqLen(dims), processor_class: family(dims).processor };
}

export function buildChatTemplateJson(): Record<string, unknown> {
  return { chat_template: CHAT_TEMPLATE };
}

/** The JSON files of a model directory (idefics3 layout, values from the model dims). */
import type { ModelDims } from './presets.js';
import { imageSeqLen } from './presets.js';
import type { TokenLayout } from './tokenizer.js';

/** The SmolVLM chat template (public, identical for the 256M and 500M models). */
export const CHAT_TEMPLATE =
  "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

const KV_CACHE_DTYPE = { q4f16: 'float16', fp16: 'float16' };

export function buildConfig(dims: ModelDims, layout: TokenLayout): Record<string, unknown> {
  const { vision: v, text: t } = dims;
  return {
    architectures: ['Idefics3ForConditionalGeneration'],
    image_token_id: layout.image,
    model_type: 'idefics3',
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
      model_type: 'idefics3',
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

/** Same keys and values as the real `preprocessor_config.json` except the two sizes. */
export function buildPreprocessorConfig(dims: ModelDims): Record<string, unknown> {
  return {
    do_convert_rgb: true,
    do_image_splitting: true,
    do_normalize: true,
    do_pad: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_processor_type: 'Idefics3ImageProcessor',
    image_std: [0.5, 0.5, 0.5],
    max_image_size: { longest_edge: dims.vision.imageSize },
    processor_class: 'Idefics3Processor',
    resample: 1,
    rescale_factor: 0.00392156862745098,
    size: { longest_edge: dims.longestEdge },
  };
}

export function buildProcessorConfig(dims: ModelDims): Record<string, unknown> {
  return { image_seq_len: imageSeqLen(dims), processor_class: 'Idefics3Processor' };
}

export function buildChatTemplateJson(): Record<string, unknown> {
  return { chat_template: CHAT_TEMPLATE };
}

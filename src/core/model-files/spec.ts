import type { ModelDirectory } from './dtypes.js';
import { SmolVLMError } from '../errors.js';

/** What the generation core needs to know about a model family, read from its JSON files. */
export interface ModelSpec {
  modelType: string;
  imageTokenId: number;
  imageSeqLen: number;
  /** Generation stops on any of these (generation_config.json's eos, not text_config's). */
  eosTokenIds: number[];
  /** Longest sequence (prompt + answer) the decoder was trained for. */
  contextLength: number;
}

/** Strings of the image layout; the same for every family (2B tokenizes the row/global markers as text). */
export const IMAGE_TOKEN = '<image>';
export const FAKE_IMAGE_TOKEN = '<fake_token_around_image>';
export const GLOBAL_IMAGE_TOKEN = '<global-img>';

export function readModelSpec(model: ModelDirectory): ModelSpec {
  const { config, generationConfig, processorConfig } = model;
  const textConfig = config.text_config ?? {};
  const imageTokenId = config.image_token_id ?? config.image_token_index;
  if (!Number.isInteger(imageTokenId)) {
    throw new SmolVLMError('MODEL_INVALID', `config.json in ${model.dir} has no image_token_id`);
  }
  const imageSeqLen = processorConfig.image_seq_len ?? derivedImageSeqLen(config);
  if (!Number.isInteger(imageSeqLen) || imageSeqLen <= 0) {
    throw new SmolVLMError('MODEL_INVALID', `cannot tell the image sequence length of the model in ${model.dir}`);
  }
  const eos = generationConfig.eos_token_id ?? textConfig.eos_token_id ?? config.eos_token_id;
  const eosTokenIds = (Array.isArray(eos) ? eos : [eos]).filter((id): id is number => Number.isInteger(id));
  if (eosTokenIds.length === 0) {
    throw new SmolVLMError('MODEL_INVALID', `generation_config.json in ${model.dir} has no eos_token_id`);
  }
  return {
    modelType: String(config.model_type ?? 'idefics3'),
    imageTokenId,
    imageSeqLen,
    eosTokenIds,
    contextLength: textConfig.max_position_embeddings ?? model.tokenizerConfig.model_max_length ?? 8192,
  };
}

function derivedImageSeqLen(config: any): number | undefined {
  const vision = config.vision_config;
  const scale = config.scale_factor;
  if (!vision?.image_size || !vision?.patch_size || !scale) return undefined;
  return Math.floor(Math.floor(vision.image_size / vision.patch_size) ** 2 / scale ** 2);
}

/*
 * What a model's configuration files say that generation needs: the image token and how many tokens stand for one
 * image, the end-of-sequence tokens and the context length. Each field is checked as it is read.
 */
import { SmolVLMError } from '../errors.js';
import { isJsonObject, type JsonObject, type ModelDirectory } from './directory.js';

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

/** Used when neither config.json's text_config nor tokenizer_config.json names a context length. */
const DEFAULT_CONTEXT_LENGTH = 8192;

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

function isPositiveInteger(value: unknown): value is number {
  return isInteger(value) && value > 0;
}

function isPositiveNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** `obj[key]` when it is an object, else an empty one (an absent section). */
function section(obj: JsonObject, key: string): JsonObject {
  const value = obj[key];
  return isJsonObject(value) ? value : {};
}

export function readModelSpec(model: ModelDirectory): ModelSpec {
  const { config, generationConfig, processorConfig, tokenizerConfig } = model;
  const textConfig = section(config, 'text_config');
  const imageTokenId = config['image_token_id'] ?? config['image_token_index'];
  if (!isInteger(imageTokenId)) {
    throw new SmolVLMError('MODEL_INVALID', `config.json in ${model.dir} has no image_token_id`);
  }
  const imageSeqLen = processorConfig['image_seq_len'] ?? derivedImageSeqLen(config);
  if (!isPositiveInteger(imageSeqLen)) {
    throw new SmolVLMError('MODEL_INVALID', `cannot tell the image sequence length of the model in ${model.dir}`);
  }
  const eos = generationConfig['eos_token_id'] ?? textConfig['eos_token_id'] ?? config['eos_token_id'];
  const eosTokenIds = (Array.isArray(eos) ? (eos as unknown[]) : [eos]).filter(isInteger);
  if (eosTokenIds.length === 0) {
    throw new SmolVLMError('MODEL_INVALID', `generation_config.json in ${model.dir} has no eos_token_id`);
  }
  const contextLength = [textConfig['max_position_embeddings'], tokenizerConfig['model_max_length']].find(isPositiveInteger);
  return {
    modelType: String(config['model_type'] ?? 'idefics3'),
    imageTokenId,
    imageSeqLen,
    eosTokenIds,
    contextLength: contextLength ?? DEFAULT_CONTEXT_LENGTH,
  };
}

/** (image_size / patch_size)² patches, merged scale_factor² at a time by the connector. */
function derivedImageSeqLen(config: JsonObject): number | undefined {
  const vision = section(config, 'vision_config');
  const imageSize = vision['image_size'];
  const patchSize = vision['patch_size'];
  const scale = config['scale_factor'];
  if (!isPositiveNumber(imageSize) || !isPositiveNumber(patchSize) || !isPositiveNumber(scale)) return undefined;
  return Math.floor(Math.floor(imageSize / patchSize) ** 2 / scale ** 2);
}

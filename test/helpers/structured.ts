// Drives a JSON constraint the way the decode loop will, with seeded random logits standing in for
// a random-weight model (unconstrained, such logits give gibberish).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Sampler, seededRandom } from '../../src/core/generation/sampling.js';
import type { JsonConstraint } from '../../src/core/structured/index.js';
import { StructuredOutput } from '../../src/core/structured/index.js';
import { TextTokenizer } from '../../src/core/tokenizer.js';

export interface TestModel {
  name: string;
  tokenizer: TextTokenizer;
  structured: StructuredOutput;
  vocabSize: number;
  eosTokenIds: number[];
}

const readJson = (dir: string, file: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>;

/** The tokenizer side of a model directory (tokenizer.json, config.json, generation_config.json). */
export function testModel(name: string, dir: string): TestModel {
  const tokenizerJson = readJson(dir, 'tokenizer.json');
  const tokenizer = new TextTokenizer(tokenizerJson, readJson(dir, 'tokenizer_config.json'));
  const textConfig = readJson(dir, 'config.json').text_config as { vocab_size: number };
  const eos = readJson(dir, 'generation_config.json').eos_token_id as number | number[];
  const eosTokenIds = Array.isArray(eos) ? eos : [eos];
  const vocabSize = textConfig.vocab_size;
  return { name, tokenizer, vocabSize, eosTokenIds, structured: new StructuredOutput({ tokenizerJson, vocabSize, eosTokenIds }) };
}

export interface Drive {
  ids: number[];
  text: string;
  /** An end-of-sequence token was sampled. */
  ended: boolean;
  /** The constraint's canEnd() when the loop stopped. */
  canEnd: boolean;
}

export interface DriveOptions {
  seed: number;
  maxTokens: number;
  /** argmax instead of sampling. */
  greedy?: boolean;
  /** Called with each masked logits vector before sampling. */
  inspect?: (logits: Float32Array, constraint: JsonConstraint) => void;
}

/** Samples from the masked distribution until an end-of-sequence token or `maxTokens` tokens. */
export async function drive(model: TestModel, constraint: JsonConstraint, options: DriveOptions): Promise<Drive> {
  const random = seededRandom(options.seed);
  const sampler = new Sampler(options.greedy ? {} : { temperature: 1, seed: options.seed });
  const eos = new Set(model.eosTokenIds);
  const ids: number[] = [];
  let ended = false;
  const logits = new Float32Array(model.vocabSize);
  while (ids.length < options.maxTokens) {
    for (let i = 0; i < logits.length; i++) logits[i] = random() * 8 - 4;
    constraint.maskLogits(logits);
    options.inspect?.(logits, constraint);
    const id = sampler.next(logits);
    if (eos.has(id)) {
      ended = true;
      break;
    }
    await constraint.accept(id);
    ids.push(id);
  }
  return { ids, text: model.tokenizer.decode(ids), ended, canEnd: constraint.canEnd() };
}

/**
 * Decode speed with a JSON Schema against without, through the real pipeline (SmolVLM.generate):
 * a text prompt and a prompt with one image, greedy, the same token budget; runs alternate (plain,
 * schema, plain, schema, ...) so that a busy machine weighs on both alike, and the best decode rate
 * of each is reported with the overhead.
 *
 *   node --import tsx scripts/structured-decode-bench.ts --model DIR [--image FILE] [--dtype int8] [--tokens 48] [--rounds 3]
 *
 * DIR: a model directory, e.g. the 256m fixture preset (fixtures/generated/bench/256m, made by
 * `npm run bench`), whose random weights decode at the real model's speed.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from './fixture-model/index.js';
import { SmolVLM, type ChatMessage, type Dtype, type GenerateRequest } from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    image: { type: 'string', default: path.resolve(repoRoot, '../shared/samples/cat.jpg') },
    dtype: { type: 'string', default: 'int8' },
    tokens: { type: 'string', default: '48' },
    rounds: { type: 'string', default: '3' },
  },
});
if (!args.model) throw new Error('--model DIR is required');

/** Long strings first, so that the document does not end before the budget on random weights. */
const SCHEMA = {
  type: 'object',
  properties: {
    description: { type: 'string', maxLength: 600 },
    objects: { type: 'array', items: { type: 'string', maxLength: 40 }, maxItems: 8 },
    text_in_image: { type: 'string', maxLength: 200 },
    is_outdoor: { type: 'boolean' },
  },
  required: ['description', 'objects', 'text_in_image', 'is_outdoor'],
};

const model = await SmolVLM.load(args.model, { dtype: args.dtype as Dtype });
const prompts: Record<string, ChatMessage[]> = {
  text: [{ role: 'user', content: 'Describe a busy street market in detail.' }],
  image: [{ role: 'user', content: [{ type: 'image', image: args.image }, { type: 'text', text: 'Describe this image.' }] }],
};

async function decodeRate(messages: ChatMessage[], withSchema: boolean): Promise<{ rate: number; tokens: number }> {
  const request: GenerateRequest = { messages, maxNewTokens: Number(args.tokens), image: { doImageSplitting: false } };
  if (withSchema) request.format = { schema: SCHEMA };
  const result = await model.generate(request).result;
  return { rate: result.timings.decodeTokensPerSecond, tokens: result.usage.completionTokens };
}

// Warm-up: sessions, the grammar engine's tokenizer set-up and the schema's compilation.
await decodeRate(prompts.text!, true);
for (const [name, messages] of Object.entries(prompts)) {
  const best = { plain: 0, schema: 0 };
  const tokens = { plain: 0, schema: 0 };
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const kind of ['plain', 'schema'] as const) {
      const { rate, tokens: n } = await decodeRate(messages, kind === 'schema');
      best[kind] = Math.max(best[kind], rate);
      tokens[kind] = n;
    }
  }
  const overhead = (best.plain / best.schema - 1) * 100;
  console.log(
    `${name}: plain ${best.plain.toFixed(1)} tok/s (${tokens.plain} tokens), schema ${best.schema.toFixed(1)} tok/s (${tokens.schema} tokens); ` +
      `overhead ${overhead.toFixed(1)} % (best of ${args.rounds})`,
  );
}

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
import { SmolVLM, type ChatMessage, type Dtype, type GenerateRequest, type JsonObject } from '../src/index.js';

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

/**
 * The README's photo record, with free strings and with bounded ones: `maxLength` makes the engine's
 * grammar larger, its compilation seconds longer and each step's mask dearer (a few ms instead of
 * under one). A long string comes first, so that random weights do not end the document early.
 */
function photoSchema(bounded: boolean): JsonObject {
  const text = (maxLength: number): JsonObject => (bounded ? { type: 'string', maxLength } : { type: 'string' });
  return {
    type: 'object',
    properties: {
      description: text(200),
      objects: { type: 'array', items: text(40), maxItems: 8 },
      text_in_image: text(200),
      is_outdoor: { type: 'boolean' },
    },
    required: ['description', 'objects', 'text_in_image', 'is_outdoor'],
  };
}
const SCHEMAS = { free: photoSchema(false), bounded: photoSchema(true) };
type Kind = 'plain' | keyof typeof SCHEMAS;

const model = await SmolVLM.load(args.model, { dtype: args.dtype as Dtype });
const prompts: Record<string, ChatMessage[]> = {
  text: [{ role: 'user', content: 'Describe a busy street market in detail.' }],
  image: [{ role: 'user', content: [{ type: 'image', image: args.image }, { type: 'text', text: 'Describe this image.' }] }],
};

async function decodeRate(messages: ChatMessage[], kind: Kind): Promise<{ rate: number; tokens: number }> {
  const request: GenerateRequest = { messages, maxNewTokens: Number(args.tokens), image: { doImageSplitting: false } };
  if (kind !== 'plain') request.format = { schema: SCHEMAS[kind] };
  const result = await model.generate(request).result;
  return { rate: result.timings.decodeTokensPerSecond, tokens: result.usage.completionTokens };
}

// Warm-up: the sessions, the grammar engine's tokenizer set-up and each schema's compilation (timed).
await decodeRate(prompts.text!, 'plain');
for (const kind of ['free', 'bounded'] as const) {
  const started = performance.now();
  await model.structuredOutput().compile({ schema: SCHEMAS[kind] });
  console.log(`${kind} strings: set-up and compile ${(performance.now() - started).toFixed(0)} ms`);
}
const KINDS: Kind[] = ['plain', 'free', 'bounded'];
for (const [name, messages] of Object.entries(prompts)) {
  const best: Record<Kind, number> = { plain: 0, free: 0, bounded: 0 };
  const tokens: Record<Kind, number> = { plain: 0, free: 0, bounded: 0 };
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const kind of KINDS) {
      const { rate, tokens: n } = await decodeRate(messages, kind);
      best[kind] = Math.max(best[kind], rate);
      tokens[kind] = n;
    }
  }
  const row = KINDS.map((kind) => {
    const overhead = kind === 'plain' ? '' : `, overhead ${((best.plain / best[kind] - 1) * 100).toFixed(1)} %`;
    return `${kind} ${best[kind].toFixed(1)} tok/s (${tokens[kind]} tokens${overhead})`;
  });
  console.log(`${name}: ${row.join('; ')} (best of ${args.rounds})`);
}

/**
 * Structured output costs on the CPU: handing the tokenizer to the grammar engine, compiling a
 * 30-field schema (with and without bounded strings), and the mask work per decode step (accept +
 * next mask, then applying it to the logits), driven by seeded random logits.
 *
 *   node --import tsx scripts/structured-bench.ts [--model DIR] [--steps 400]
 *
 * DIR holds tokenizer.json, config.json and generation_config.json (default: the SmolVLM-256M
 * reference beside the checkout, ../shared/reference/SmolVLM-256M-Instruct).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from './fixture-model/index.js';
import { seededRandom } from '../src/core/generation/sampling.js';
import { StructuredOutput } from '../src/core/structured/index.js';
import type { JsonObject } from '../src/core/structured/index.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: path.resolve(repoRoot, '../shared/reference/SmolVLM-256M-Instruct') },
    steps: { type: 'string', default: '400' },
  },
});

const readJson = (file: string) => JSON.parse(readFileSync(path.join(args.model, file), 'utf8')) as Record<string, unknown>;

/** 30 fields of every supported kind; `maxLength` on the strings when `bounded`. */
function thirtyFields(bounded: boolean): JsonObject {
  const properties: JsonObject = {};
  const text = (n: number): JsonObject => (bounded ? { type: 'string', maxLength: 10 + n } : { type: 'string' });
  for (let i = 0; i < 6; i++) properties[`text_${i}`] = text(i);
  for (let i = 0; i < 6; i++) properties[`count_${i}`] = { type: 'integer', minimum: 0, maximum: 10 ** (i + 1) };
  for (let i = 0; i < 4; i++) properties[`score_${i}`] = { type: 'number', minimum: 0, maximum: 1 };
  for (let i = 0; i < 5; i++) properties[`flag_${i}`] = { type: 'boolean' };
  for (let i = 0; i < 4; i++) properties[`kind_${i}`] = { enum: ['photo', 'drawing', 'screenshot', 'document', `other_${i}`] };
  for (let i = 0; i < 3; i++) properties[`tags_${i}`] = { type: 'array', items: text(0), maxItems: 5 };
  properties.box = { type: 'object', properties: { x: { type: 'integer' }, y: { type: 'integer' } }, required: ['x', 'y'] };
  properties.note = { anyOf: [text(5), { type: 'null' }] };
  return { type: 'object', properties, required: Object.keys(properties).filter((_, i) => i % 2 === 0) };
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
}

/** Mean ms per step of accept (with the next mask) and of applying the mask, over one document. */
async function maskCost(structured: StructuredOutput, schema: JsonObject, vocabSize: number, eos: Set<number>, steps: number) {
  const constraint = await structured.constraint({ schema });
  const random = seededRandom(7);
  const logits = new Float32Array(vocabSize);
  let [acceptMs, applyMs, n] = [0, 0, 0];
  while (n < steps) {
    for (let i = 0; i < vocabSize; i++) logits[i] = random() * 8 - 4;
    let start = performance.now();
    constraint.maskLogits(logits);
    applyMs += performance.now() - start;
    let id = 0;
    for (let i = 1; i < vocabSize; i++) if (logits[i]! > logits[id]!) id = i;
    if (eos.has(id)) break;
    start = performance.now();
    await constraint.accept(id);
    acceptMs += performance.now() - start;
    n++;
  }
  constraint.dispose();
  return { steps: n, acceptMs: acceptMs / n, applyMs: applyMs / n };
}

const tokenizerJson = readJson('tokenizer.json');
const vocabSize = (readJson('config.json').text_config as { vocab_size: number }).vocab_size;
const eosValue = readJson('generation_config.json').eos_token_id as number | number[];
const eosTokenIds = Array.isArray(eosValue) ? eosValue : [eosValue];
const structured = new StructuredOutput({ tokenizerJson, vocabSize, eosTokenIds });

const [, prepareMs] = await timed(() => structured.prepare());
const rows: string[] = [`tokenizer handed over (${vocabSize} logits): ${prepareMs.toFixed(0)} ms`];
for (const bounded of [false, true]) {
  const schema = thirtyFields(bounded);
  const [, compileMs] = await timed(() => structured.compile({ schema }));
  const [, cachedMs] = await timed(() => structured.compile({ schema }));
  const cost = await maskCost(structured, schema, vocabSize, new Set(eosTokenIds), Number(args.steps));
  rows.push(
    `30 fields, ${bounded ? 'strings with maxLength' : 'unbounded strings'}: compile ${compileMs.toFixed(0)} ms (cached ${cachedMs.toFixed(2)} ms); ` +
      `per step over ${cost.steps} steps: accept + next mask ${cost.acceptMs.toFixed(2)} ms, apply mask ${cost.applyMs.toFixed(2)} ms`,
  );
}
console.log(rows.join('\n'));

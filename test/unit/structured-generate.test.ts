// Structured output through the real pipeline (SmolVLM.generate, Conversation) on the tiny
// random-weight fixture, whose unconstrained answers are gibberish: the constraint alone makes them JSON.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { Conversation, isSmolVLMError, SmolVLM, type GenerateRequest, type OutputFormat } from '../../src/index.js';
import { TEST_SCHEMAS } from '../helpers/structured-schemas.js';

// `definitions` is draft-07's name for $defs; it is not an error, only unknown to 2020-12.
const ajv = new Ajv2020({ strict: false });

const SEEDS = [1, 2, 3];
/** Enough for every schema to complete with some seed; free-form keys (openMap) need more. */
const budget = (name: string) => (name === 'openMap' ? 240 : 96);

let model: SmolVLM;
before(async () => {
  model = await SmolVLM.load(await ensureFixtureModel('tiny'), { dtype: 'fp32', threads: 1 });
});

const ask = (format: OutputFormat | undefined, extra: Partial<GenerateRequest> = {}) =>
  model.generate({ messages: [{ role: 'user', content: 'Describe the photo as JSON.' }], ...(format ? { format } : {}), ...extra }).result;

const usageError = (pattern: RegExp) => (error: unknown) => isSmolVLMError(error) && error.code === 'USAGE' && pattern.test(error.message);

describe('structured output in generate()', () => {
  test('unconstrained, the fixture does not answer JSON (the constraint is what makes it JSON)', async () => {
    const result = await ask(undefined, { maxNewTokens: 24, sampling: { temperature: 1, seed: 1 } });
    assert.throws(() => JSON.parse(result.text) as unknown);
    assert.equal(result.structured, undefined);
  });

  test('21 schemas x 3 seeds, sampling at temperature 1: every completed answer parses and is valid', async () => {
    assert.ok(Object.keys(TEST_SCHEMAS).length >= 20);
    for (const [name, schema] of Object.entries(TEST_SCHEMAS)) {
      const validate = ajv.compile(schema);
      let completed = 0;
      for (const seed of SEEDS) {
        const result = await ask({ schema }, { maxNewTokens: budget(name), sampling: { temperature: 1, seed } });
        const where = `${name} seed ${seed}: ${JSON.stringify(result.text)}`;
        assert.ok(result.structured, where);
        if (!result.structured.complete) {
          assert.equal(result.finishReason, 'length', where);
          continue;
        }
        completed++;
        assert.equal(result.finishReason, 'eos', where);
        assert.deepEqual(JSON.parse(result.text), result.structured.data, where);
        assert.ok(validate(result.structured.data), `${where} ${ajv.errorsText(validate.errors)}`);
      }
      assert.ok(completed > 0, `${name}: no answer completed within ${budget(name)} tokens`);
    }
  });

  test('greedy constrained output is deterministic', async () => {
    const schema = TEST_SCHEMAS.photo!;
    const [a, b] = [await ask({ schema }, { maxNewTokens: 96 }), await ask({ schema }, { maxNewTokens: 96 })];
    assert.ok(a.structured?.complete, a.text);
    assert.equal(a.text, b.text);
    assert.deepEqual(a.ids, b.ids);
  });

  test('too few tokens: finish reason length, the partial text kept, the answer incomplete', async () => {
    const result = await ask({ schema: TEST_SCHEMAS.flat! }, { maxNewTokens: 5, sampling: { temperature: 1, seed: 4 } });
    assert.equal(result.finishReason, 'length');
    assert.equal(result.ids.length, 5);
    assert.ok(result.text.startsWith('{'), result.text);
    assert.ok(result.structured && !result.structured.complete);
    assert.match(result.structured.message, /incomplete/);
  });

  test("format 'json': the answer starts an object and is cut cleanly when the budget ends", async () => {
    const result = await ask('json', { maxNewTokens: 12, sampling: { temperature: 1, seed: 2 } });
    assert.ok(result.text.startsWith('{'), result.text);
    assert.ok(result.structured);
    if (result.structured.complete) assert.equal(typeof result.structured.data, 'object');
    else assert.equal(result.finishReason, 'length');
  });

  test('bad formats are USAGE errors before any work, naming the problem', () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    assert.throws(() => model.generate({ messages, format: { schema: { type: 'string', pattern: 'a+' } } }), usageError(/"pattern"/));
    assert.throws(() => model.generate({ messages, format: 'yaml' as OutputFormat }), usageError(/format must be 'json' or \{ schema \}/));
    assert.throws(() => model.generate({ messages, format: { schema: { type: 'nope' } } }), usageError(/nope/));
    assert.throws(() => model.generate({ messages, format: 'json', stop: ['}'] }), usageError(/stop strings cannot be used with a format/));
  });
});

describe('structured output in a Conversation', () => {
  test('a format applies to every turn until it is turned off; a bad one is refused at once', async () => {
    const schema = TEST_SCHEMAS.enumStrings!;
    const conversation = new Conversation(model, { format: { schema }, settings: { maxTokens: 48, temperature: 1, seed: 3 } });
    const first = await conversation.ask('What kind of image is it?').result;
    assert.ok(first.structured?.complete, first.text);
    assert.ok(ajv.validate(schema, first.structured.data));
    const second = await conversation.ask('And again?').result;
    assert.ok(second.structured?.complete, second.text);
    conversation.setFormat(undefined);
    const free = await conversation.ask('Now in words.').result;
    assert.equal(free.structured, undefined);
    assert.throws(() => conversation.setFormat({ schema: { type: 'string', format: 'date' } }), usageError(/"format"/));
    assert.equal(conversation.format, undefined);
  });
});

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';
import { readStructuredAnswer } from '../../src/core/structured/index.js';
import { engineMessage, withEngineOutput } from '../../src/core/structured/xgrammar.js';
import { referenceModelDir, skipUnlessShared } from '../helpers/shared.js';
import { drive, testModel, type TestModel } from '../helpers/structured.js';
import { TEST_SCHEMAS } from '../helpers/structured-schemas.js';

// `definitions` is draft-07's name for $defs; it is not an error, only unknown to 2020-12.
const ajv = new Ajv2020({ strict: false });

/** Per model: the seeds sampled per schema and the token budget per answer. */
const RUNS = [
  { name: 'tiny fixture', seeds: [1, 2, 3, 4, 5], maxTokens: 400, dir: () => ensureFixtureModel('tiny') },
  { name: 'SmolVLM-256M tokenizer', seeds: [1, 2, 3], maxTokens: 300, dir: async () => referenceModelDir, skip: skipUnlessShared(referenceModelDir) },
];

for (const run of RUNS) {
  describe(`structured output with the ${run.name}`, { skip: run.skip ?? false }, () => {
    let model: TestModel;
    before(async () => {
      model = testModel(run.name, await run.dir());
    });

    test('20+ schemas x several seeds: every completed answer parses and is valid', async () => {
      for (const [name, schema] of Object.entries(TEST_SCHEMAS)) {
        const validate = ajv.compile(schema);
        let completed = 0;
        for (const seed of run.seeds) {
          const constraint = await model.structured.constraint({ schema });
          const result = await drive(model, constraint, { seed, maxTokens: run.maxTokens });
          constraint.dispose();
          if (!result.ended) continue;
          completed++;
          const answer = readStructuredAnswer(result.text, result.canEnd);
          assert.ok(answer.complete, `${name} seed ${seed}: ${result.text}`);
          assert.ok(validate(answer.data), `${name} seed ${seed}: ${result.text} ${ajv.errorsText(validate.errors)}`);
        }
        assert.ok(completed > 0, `${name}: no answer completed within ${run.maxTokens} tokens`);
      }
    });

    test("format 'json' always parses, as an object", async () => {
      let completed = 0;
      for (const seed of run.seeds) {
        const constraint = await model.structured.constraint('json');
        // Keys and strings are unbounded here, so random logits need a longer budget to close them.
        const result = await drive(model, constraint, { seed, maxTokens: 2 * run.maxTokens });
        constraint.dispose();
        if (!result.ended) continue;
        completed++;
        const data: unknown = JSON.parse(result.text);
        assert.ok(typeof data === 'object' && data !== null && !Array.isArray(data), result.text);
      }
      assert.ok(completed > 0, 'no answer completed');
    });

    test('greedy constrained output is deterministic', async () => {
      const greedy = async () => {
        const constraint = await model.structured.constraint({ schema: TEST_SCHEMAS.photo! });
        const result = await drive(model, constraint, { seed: 9, maxTokens: run.maxTokens, greedy: true });
        constraint.dispose();
        return result;
      };
      const first = await greedy();
      assert.deepEqual((await greedy()).ids, first.ids);
      assert.ok(first.ended && readStructuredAnswer(first.text, first.canEnd).complete, first.text);
    });

    test('special tokens are never allowed; end-of-sequence only once the document is complete', async () => {
      const special = Array.from({ length: model.vocabSize }, (_, id) => id).filter((id) => model.tokenizer.isSpecial(id));
      const eos = new Set(model.eosTokenIds);
      for (const seed of run.seeds) {
        const constraint = await model.structured.constraint({ schema: TEST_SCHEMAS.refItems! });
        let sawEnd = false;
        await drive(model, constraint, {
          seed,
          maxTokens: run.maxTokens,
          inspect: (logits, c) => {
            for (const id of special) if (!eos.has(id)) assert.equal(logits[id], -Infinity, `special token ${id} allowed`);
            const eosAllowed = model.eosTokenIds.some((id) => logits[id] !== -Infinity);
            assert.equal(eosAllowed, c.canEnd());
            sawEnd ||= eosAllowed;
          },
        });
        constraint.dispose();
        assert.ok(sawEnd);
      }
    });

    test('a stop before the document ends is reported as incomplete, with the text kept', async () => {
      const constraint = await model.structured.constraint({ schema: TEST_SCHEMAS.photo! });
      const result = await drive(model, constraint, { seed: 1, maxTokens: 3 });
      constraint.dispose();
      assert.equal(result.ended, false);
      const answer = readStructuredAnswer(result.text, result.canEnd);
      assert.equal(answer.complete, false);
      assert.match(answer.complete ? '' : answer.message, /incomplete/);
      assert.ok(result.text.startsWith('{'), result.text);
    });

    test('rollback returns to an earlier state (the same mask as before)', async () => {
      const constraint = await model.structured.constraint({ schema: TEST_SCHEMAS.flat! });
      const masked = () => {
        const logits = new Float32Array(model.vocabSize);
        constraint.maskLogits(logits);
        return logits;
      };
      const start = masked();
      const first = start.findIndex((v) => v === 0);
      await constraint.accept(first);
      assert.notDeepEqual(masked(), start);
      await constraint.rollback(1);
      assert.deepEqual(masked(), start);
      constraint.dispose();
    });
  });
}

describe('grammar engine', () => {
  let model: TestModel;
  before(async () => {
    model = testModel('tiny fixture', await ensureFixtureModel('tiny'));
  });

  test('compiled grammars are cached by canonical schema', async () => {
    const first = await model.structured.compile({ schema: { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] } });
    const again = await model.structured.compile({ schema: { required: ['a'], properties: { a: { type: 'integer' } }, type: 'object' } });
    assert.equal(again, first);
    assert.notEqual(await model.structured.compile('json'), first);
  });

  test("what the engine prints when it refuses a grammar is captured, not written to stderr", async () => {
    const compiler = await model.structured.prepare();
    const writes: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => writes.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      const outcome = await withEngineOutput(() => compiler.compileJSONSchema('{"type": "strung"}'));
      assert.ok(outcome.error !== undefined);
      assert.equal(engineMessage(outcome.lines.find((line) => line.startsWith('[FATAL]')) ?? ''), 'Unsupported type "strung"');
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual(writes, []);
    // The engine still works afterwards.
    await model.structured.compile({ schema: { type: 'boolean' } });
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { SmolVLMError } from '../../src/core/errors.js';
import {
  checkOutputFormat,
  checkSchema,
  formatFromResponseFormat,
  readSchemaArgument,
  readStructuredAnswer,
} from '../../src/core/structured/index.js';
import { canonicalJson } from '../../src/core/structured/json.js';
import { TEST_SCHEMAS } from '../helpers/structured-schemas.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smolvlm-schema-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Asserts a USAGE error whose one-line message matches `pattern`. */
function refused(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof SmolVLMError, String(error));
    assert.equal(error.code, 'USAGE');
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
}

describe('schema check', () => {
  test('every test schema is accepted', () => {
    for (const schema of Object.values(TEST_SCHEMAS)) checkSchema(schema);
  });

  test('keywords the engine cannot enforce are refused, naming the keyword and where it is', () => {
    const cases: [object, RegExp][] = [
      [{ type: 'string', format: 'date' }, /"format" at the root is not supported/],
      [{ type: 'object', properties: { id: { type: 'string', pattern: '^[a-z]+$' } } }, /"pattern" at \/properties\/id is not supported/],
      [{ type: 'integer', multipleOf: 5 }, /"multipleOf"/],
      [{ type: 'array', uniqueItems: true }, /"uniqueItems"/],
      [{ type: 'array', items: { type: 'integer' }, contains: { const: 1 } }, /"contains"/],
      [{ not: { type: 'string' } }, /"not"/],
      [{ oneOf: [{ type: 'string' }, { type: 'integer' }] }, /"oneOf" .*use anyOf/],
      [{ allOf: [{ type: 'integer' }] }, /"allOf"/],
      [{ type: 'object', if: { required: ['a'] }, then: { required: ['b'] } }, /"if"/],
      [{ type: 'object', patternProperties: { '^x': {} } }, /"patternProperties"/],
      [{ type: 'object', dependentRequired: { a: ['b'] } }, /"dependentRequired"/],
      [{ type: 'number', exclusiveMinimum: 0 }, /"exclusiveMinimum" with "type": "number"/],
      [{ type: 'number', minimum: 0.5 }, /"minimum" with "type": "number" must be a whole number/],
      [{ type: ['integer', 'null'], minimum: 0 }, /only supported with "type": "integer" or "type": "number"/],
      [{ type: 'integer', enum: [1, 50], maximum: 10 }, /beside "enum"/],
      [{ $defs: { a: { type: 'integer' } }, $ref: '#/$defs/a', maximum: 3 }, /"maximum" beside "\$ref"/],
      [{ type: 'object', properties: { a: { nullable: true } } }, /unknown keyword "nullable" at \/properties\/a/],
    ];
    for (const [schema, pattern] of cases) refused(() => checkSchema(schema), pattern);
  });

  test('invalid schemas are refused, naming the problem', () => {
    const cases: [unknown, RegExp][] = [
      ['{"type": "object"}', /must be an object/],
      [false, /must be an object/],
      [{ type: 'strung' }, /"strung" is not a JSON Schema type/],
      [{ type: [] }, /empty list/],
      [{ type: 'integer', minimum: 'x' }, /"minimum" .*must be a number/],
      [{ type: 'integer', minimum: 5, maximum: 1 }, /leave no integer/],
      [{ type: 'integer', exclusiveMinimum: 1, exclusiveMaximum: 2 }, /leave no integer/],
      [{ type: 'string', minLength: 4, maxLength: 2 }, /"minLength" is greater than "maxLength"/],
      [{ type: 'string', maxLength: -1 }, /"maxLength" .*integer >= 0/],
      [{ enum: [] }, /"enum" .*non-empty/],
      [{ type: 'object', properties: { a: {} }, required: ['b'] }, /required property "b" .*not in "properties"/],
      [{ type: 'object', properties: { a: {} }, required: ['a', 'a'] }, /twice/],
      [{ type: 'object', properties: { 'say "hi"': {} } }, /needs escaping/],
      [{ type: 'object', properties: { a: false } }, /false .* at \/properties\/a/],
      [{ type: 'object', minProperties: 2, properties: { a: {} } }, /"minProperties"/],
      [{ type: 'array', items: [{ type: 'integer' }] }, /use "prefixItems"/],
      [{ $ref: '#/$defs/missing' }, /points to nothing/],
      [{ $ref: 'https://example.com/schema.json' }, /only local references/],
      [{ $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' }, /refers to itself/],
      [{ type: 'object', properties: { n: { type: 'number', maximum: Number.NaN } } }, /NaN .* not a JSON number/],
      [{ type: 'object', properties: { d: { default: new Date(0) } } }, /not JSON/],
    ];
    for (const [schema, pattern] of cases) refused(() => checkSchema(schema), pattern);
  });

  test('bounds reach the engine in the form it enforces exactly', () => {
    const max = Number.MAX_SAFE_INTEGER;
    assert.deepEqual(checkSchema({ type: 'integer', minimum: 7 }), { type: 'integer', minimum: 7, maximum: max });
    assert.deepEqual(checkSchema({ type: 'integer', exclusiveMinimum: -5, exclusiveMaximum: 5.5 }), { type: 'integer', minimum: -4, maximum: 5 });
    assert.deepEqual(checkSchema({ type: 'number', minimum: 0, maximum: 1 }), {
      anyOf: [{ type: 'number', minimum: 0, maximum: 0 }, { const: 0 }, { const: 1 }],
    });
    assert.deepEqual(checkSchema({ type: 'number' }), {
      anyOf: [{ type: 'number', minimum: 1 - max, maximum: max - 1 }, { const: -max }, { const: max }],
    });
    // A property named like a keyword is a name, not a bound.
    assert.deepEqual(checkSchema({ type: 'object', properties: { minimum: { type: 'boolean' } } }), {
      type: 'object',
      properties: { minimum: { type: 'boolean' } },
    });
  });
});

describe('output format', () => {
  test("'json' and { schema } are accepted; anything else is refused", () => {
    assert.equal(checkOutputFormat('json').cacheKey, 'json');
    assert.equal(checkOutputFormat({ schema: true }).strict, true);
    refused(() => checkOutputFormat('yaml'), /format must be 'json' or \{ schema \}/);
    refused(() => checkOutputFormat({ schema: {}, extra: 1 }), /format must be/);
    refused(() => checkOutputFormat({ type: 'object' }), /format must be/);
  });

  test("the server's response_format maps onto a format", () => {
    const schema = { type: 'object', properties: { a: { type: 'integer' } } };
    assert.equal(formatFromResponseFormat(undefined), undefined);
    assert.equal(formatFromResponseFormat({ type: 'text' }), undefined);
    assert.equal(formatFromResponseFormat({ type: 'json_object' }), 'json');
    assert.deepEqual(formatFromResponseFormat({ type: 'json_object', schema }), { schema });
    assert.deepEqual(formatFromResponseFormat({ type: 'json_schema', json_schema: { name: 'x', schema, strict: true } }), { schema });
    refused(() => formatFromResponseFormat({ type: 'json_schema', json_schema: { name: 'x' } }), /json_schema must be an object with a "schema"/);
    refused(() => formatFromResponseFormat({ type: 'yaml' }), /response_format type must be/);
  });

  test('the cache key ignores key order except the order of properties (the generation order)', () => {
    const a = checkOutputFormat({ schema: { type: 'object', required: ['x'], properties: { x: { type: 'integer', maximum: 3, minimum: 0 }, y: {} } } });
    const b = checkOutputFormat({ schema: { properties: { x: { minimum: 0, type: 'integer', maximum: 3 }, y: {} }, type: 'object', required: ['x'] } });
    const c = checkOutputFormat({ schema: { type: 'object', required: ['x'], properties: { y: {}, x: { type: 'integer', minimum: 0, maximum: 3 } } } });
    assert.equal(a.cacheKey, b.cacheKey);
    assert.notEqual(a.cacheKey, c.cacheKey);
    assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] }), '{"a":[{"c":2,"d":1}],"b":1}');
  });

  test('--schema takes inline JSON or a file; a missing file or bad JSON is one clear line', async () => {
    assert.deepEqual(await readSchemaArgument('{"type": "integer"}'), { type: 'integer' });
    const file = path.join(tmp, 'schema.json');
    writeFileSync(file, JSON.stringify({ type: 'boolean' }));
    assert.deepEqual(await readSchemaArgument(file), { type: 'boolean' });
    writeFileSync(file, '{"type": ');
    await assert.rejects(readSchemaArgument(file), /schema file .* is not valid JSON/);
    await assert.rejects(readSchemaArgument(path.join(tmp, 'nope.json')), /does not exist/);
    await assert.rejects(readSchemaArgument('{oops}'), /the schema given inline is not valid JSON/);
  });
});

describe('structured answer', () => {
  test('a complete answer carries the parsed value; an incomplete one a message', () => {
    assert.deepEqual(readStructuredAnswer('{"a": [1, "x"]}', true), { complete: true, data: { a: [1, 'x'] } });
    const partial = readStructuredAnswer('{"a": [1, "x', false);
    assert.equal(partial.complete, false);
    assert.match(partial.complete ? '' : partial.message, /incomplete/);
  });
});

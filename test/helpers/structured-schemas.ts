// Twenty-odd schemas covering what structured output supports: objects, arrays, enums, const, nesting,
// required/optional, string lengths, integer and number ranges, $ref/$defs, anyOf and type lists.
import type { JsonObject } from '../../src/core/structured/index.js';

const str = (maxLength: number, minLength = 0): JsonObject => ({ type: 'string', minLength, maxLength });

export const TEST_SCHEMAS: Record<string, JsonObject> = {
  flat: {
    type: 'object',
    properties: { name: str(8), age: { type: 'integer' }, ok: { type: 'boolean' } },
    required: ['name', 'age', 'ok'],
  },
  optional: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'boolean' }, c: { type: 'null' } } },
  enumStrings: { type: 'object', properties: { kind: { enum: ['photo', 'drawing', 'screenshot'] } }, required: ['kind'] },
  constObject: { type: 'object', properties: { v: { const: { version: 2, tags: ['a', 'b'] } } }, required: ['v'] },
  nested: {
    type: 'object',
    properties: { outer: { type: 'object', properties: { inner: { type: 'object', properties: { x: { type: 'integer' } }, required: ['x'] } }, required: ['inner'] } },
    required: ['outer'],
  },
  stringArray: { type: 'object', properties: { tags: { type: 'array', items: str(6), minItems: 1, maxItems: 3 } }, required: ['tags'] },
  refItems: {
    type: 'object',
    properties: { items: { type: 'array', items: { $ref: '#/$defs/item' }, minItems: 1, maxItems: 2 } },
    required: ['items'],
    $defs: { item: { type: 'object', properties: { sku: str(5, 1), qty: { type: 'integer', minimum: 1, maximum: 99 } }, required: ['sku', 'qty'] } },
  },
  intRange: { type: 'object', properties: { score: { type: 'integer', minimum: 0, maximum: 100 } }, required: ['score'] },
  intMinimumOnly: { type: 'object', properties: { n: { type: 'integer', minimum: 7 } }, required: ['n'] },
  numbers: {
    type: 'object',
    properties: {
      confidence: { type: 'number', minimum: 0, maximum: 1 },
      below: { type: 'number', minimum: -5, maximum: -2 },
      around: { type: 'number', minimum: -3, maximum: 0 },
      free: { type: 'number' },
    },
    required: ['confidence', 'below', 'around', 'free'],
  },
  intExclusive: { type: 'object', properties: { d: { type: 'integer', exclusiveMinimum: -5, exclusiveMaximum: 5 } }, required: ['d'] },
  stringLength: { type: 'object', properties: { code: str(6, 2) }, required: ['code'] },
  anyOfNullable: { type: 'object', properties: { v: { anyOf: [{ type: 'integer' }, { type: 'null' }] } }, required: ['v'] },
  typeList: { type: 'object', properties: { v: { type: ['string', 'null'], maxLength: 4 } }, required: ['v'] },
  tuple: { type: 'array', prefixItems: [{ type: 'integer' }, str(4), { type: 'boolean' }], items: false, minItems: 3 },
  openMap: { type: 'object', additionalProperties: { type: 'boolean' }, maxProperties: 2 },
  tree: {
    $ref: '#/$defs/node',
    $defs: { node: { type: 'object', properties: { v: { type: 'integer', minimum: 0, maximum: 9 }, kids: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 1 } }, required: ['v'] } },
  },
  enumMixed: { enum: [1, 'two', null, { three: [3] }, true] },
  draft07Definitions: { definitions: { flag: { type: 'boolean' } }, type: 'object', properties: { f: { $ref: '#/definitions/flag' } }, required: ['f'] },
  photo: {
    type: 'object',
    properties: {
      objects: { type: 'array', items: str(8), maxItems: 3 },
      text_in_image: str(8),
      is_outdoor: { type: 'boolean' },
    },
    required: ['objects', 'text_in_image', 'is_outdoor'],
  },
  anyValue: {},
};

/**
 * Number and integer bounds in the one form xgrammar 0.1.27 enforces correctly. Its grammar for a
 * range with whole-number bounds [a, b] is: an integer part k in [a, b], then optionally "." and 1 to
 * 6 digits; so "b.5" overshoots b >= 0 and "-|a|.5" undershoots a < 0. Decimal bounds turn "." into
 * "any character" (invalid JSON), exclusive bounds on numbers are ignored, and a one-sided bound is
 * wrong. So every bounded schema gets both bounds, whole numbers, and numbers get their range
 * narrowed by one at the ends that overshoot, with the end values themselves added back as consts.
 */
import type { JsonObject, JsonValue } from './json.js';

export const BOUNDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] as const;

/** Unbounded sides become these, so that no number overflows a JavaScript double when parsed. */
const LIMIT = Number.MAX_SAFE_INTEGER;

const bound = (schema: JsonObject, key: (typeof BOUNDS)[number]) => schema[key] as number | undefined;

/** The inclusive integer range of an integer schema's bounds. */
export function integerRange(schema: JsonObject): [number, number] {
  const low = [-LIMIT];
  const high = [LIMIT];
  const [minimum, maximum] = [bound(schema, 'minimum'), bound(schema, 'maximum')];
  const [exclusiveMinimum, exclusiveMaximum] = [bound(schema, 'exclusiveMinimum'), bound(schema, 'exclusiveMaximum')];
  if (minimum !== undefined) low.push(Math.ceil(minimum));
  if (exclusiveMinimum !== undefined) low.push(Math.floor(exclusiveMinimum) + 1);
  if (maximum !== undefined) high.push(Math.floor(maximum));
  if (exclusiveMaximum !== undefined) high.push(Math.ceil(exclusiveMaximum) - 1);
  return [Math.max(...low), Math.min(...high)];
}

/** Why the bounds of a schema cannot be enforced, or undefined when they can. */
export function boundsProblem(schema: JsonObject): string | undefined {
  const present = BOUNDS.filter((key) => schema[key] !== undefined);
  if (present.length === 0) return undefined;
  const first = present[0]!;
  const notNumber = present.find((key) => typeof schema[key] !== 'number');
  if (notNumber) return `"${notNumber}" must be a number`;
  if (schema.enum !== undefined || schema.const !== undefined) return `"${first}" beside "enum" or "const" is not supported; list only the allowed values`;
  if (schema.type === 'integer') {
    const [low, high] = integerRange(schema);
    return low > high ? 'the bounds leave no integer' : undefined;
  }
  if (schema.type !== 'number') return `"${first}" is only supported with "type": "integer" or "type": "number"`;
  const exclusive = present.find((key) => key.startsWith('exclusive'));
  if (exclusive) return `"${exclusive}" with "type": "number" is not supported (the grammar engine ignores it); use "minimum"/"maximum"`;
  const fractional = present.find((key) => !Number.isInteger(schema[key]) || Math.abs(schema[key] as number) > LIMIT);
  if (fractional) return `"${fractional}" with "type": "number" must be a whole number (the grammar engine cannot bound decimals exactly)`;
  if ((bound(schema, 'minimum') ?? -LIMIT) > (bound(schema, 'maximum') ?? LIMIT)) return '"minimum" is greater than "maximum"';
  return undefined;
}

/**
 * The engine form of a number or integer schema whose bounds passed `boundsProblem` (`rest` is the
 * schema without its bounds). Unbounded numbers are bounded too: without a range the engine allows
 * exponents, and 1e999 parses to Infinity.
 */
export function boundedNumber(schema: JsonObject, rest: JsonObject): JsonValue {
  if (schema.enum !== undefined || schema.const !== undefined) return rest;
  if (schema.type === 'integer') {
    if (!BOUNDS.some((key) => schema[key] !== undefined)) return rest;
    const [minimum, maximum] = integerRange(schema);
    return { ...rest, minimum, maximum };
  }
  if (schema.type !== 'number') return rest;
  const low = bound(schema, 'minimum') ?? -LIMIT;
  const high = bound(schema, 'maximum') ?? LIMIT;
  const from = low < 0 ? low + 1 : low; // "-|from|.ddd" must stay >= low
  const to = high > 0 ? high - 1 : high === 0 ? -1 : high; // "to.ddd" must stay <= high
  const ends: JsonValue[] = low === high ? [{ const: low }] : [{ const: low }, { const: high }];
  return { anyOf: from <= to ? [{ ...rest, minimum: from, maximum: to }, ...ends] : ends };
}

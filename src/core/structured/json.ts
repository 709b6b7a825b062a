/** JSON values and schemas as the structured-output code passes them around. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A JSON Schema: an object, or `true` (anything). Checked by `checkSchema` before use. */
export type JsonSchema = boolean | JsonObject;

export const isJsonObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * JSON text with object keys sorted, except the keys of a schema's `properties` map, whose order is
 * the order the fields are generated in. Two schemas that differ only in key order elsewhere get
 * the same text (the compiled-grammar cache key).
 */
export function canonicalJson(value: JsonValue, keepKeyOrder = false): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  if (!isJsonObject(value)) return JSON.stringify(value);
  const keys = Object.keys(value);
  if (!keepKeyOrder) keys.sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key]!, key === 'properties' && !keepKeyOrder)}`).join(',')}}`;
}

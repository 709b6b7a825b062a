import { readFile } from 'node:fs/promises';
import { SmolVLMError } from '../errors.js';
import { canonicalJson, type JsonSchema } from './json.js';
import { checkSchema } from './schema.js';

/**
 * What a structured answer must be: `'json'` is a JSON object with any content (what Ollama's
 * `format: "json"` and OpenAI's `json_object` give); `{ schema }` is a value valid against a JSON
 * Schema (`{ schema: {} }` or `{ schema: true }` for any JSON value, not only an object).
 */
export type OutputFormat = 'json' | { schema: JsonSchema };

/** A checked format: what the engine compiles, and the key of its compiled grammar. */
export interface CheckedFormat {
  /** JSON Schema text for the engine. */
  engineSchema: string;
  /** false for 'json' (any properties); true for schemas (no property the schema does not allow). */
  strict: boolean;
  /** Identical for formats that compile to the same grammar. */
  cacheKey: string;
}

/** 'json' as a schema: an object of whatever keys, nested values of whatever JSON type. */
const ANY_OBJECT = '{"type":"object"}';

/**
 * Checks a format given by a caller (untyped: library callers, server requests, parsed files) and
 * returns what the engine needs. Throws SmolVLMError USAGE with one line naming the problem.
 */
export function checkOutputFormat(format: unknown): CheckedFormat {
  if (format === 'json') return { engineSchema: ANY_OBJECT, strict: false, cacheKey: 'json' };
  const isObject = typeof format === 'object' && format !== null && !Array.isArray(format);
  if (!isObject || !('schema' in format) || Object.keys(format).length !== 1) {
    throw new SmolVLMError('USAGE', `format must be 'json' or { schema }, not ${describe(format)}`);
  }
  const schema = checkSchema((format as { schema: unknown }).schema);
  const engineSchema = JSON.stringify(schema);
  return { engineSchema, strict: true, cacheKey: `schema:${canonicalJson(schema)}` };
}

/**
 * The format an OpenAI-style `response_format` asks for (the server's edge; untyped input):
 * `{"type": "text"}` -> undefined, `{"type": "json_object"}` -> 'json' (with a `schema` beside it, as
 * llama.cpp accepts -> that schema), `{"type": "json_schema", "json_schema": {"name", "schema",
 * "strict"}}` -> the schema. The schema itself is checked by `checkOutputFormat`.
 */
export function formatFromResponseFormat(responseFormat: unknown): OutputFormat | undefined {
  const usage = (why: string) => new SmolVLMError('USAGE', `response_format ${why}`);
  if (responseFormat === undefined || responseFormat === null) return undefined;
  if (typeof responseFormat !== 'object' || Array.isArray(responseFormat)) throw usage('must be an object');
  const { type, schema, json_schema: jsonSchema } = responseFormat as Record<string, unknown>;
  if (type === 'text') return undefined;
  if (type === 'json_object') return schema === undefined ? 'json' : { schema: schema as JsonSchema };
  if (type !== 'json_schema') throw usage(`type must be "text", "json_object" or "json_schema", not ${describe(type)}`);
  if (typeof jsonSchema !== 'object' || jsonSchema === null || !('schema' in jsonSchema)) throw usage('json_schema must be an object with a "schema"');
  return { schema: (jsonSchema as { schema: unknown }).schema as JsonSchema };
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 60) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The value of a `--schema` option: inline JSON (starting with `{`, or `true`) or the path of a JSON
 * file. Returns the parsed, still unchecked schema (give it to `checkOutputFormat`).
 */
export async function readSchemaArgument(argument: string): Promise<unknown> {
  const text = argument.trim();
  const inline = text.startsWith('{') || text === 'true';
  let source = text;
  if (!inline) {
    try {
      source = await readFile(argument, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
      throw new SmolVLMError('USAGE', `schema file ${argument} ${why} (give a file or inline JSON)`, { cause: error });
    }
  }
  try {
    return JSON.parse(source) as unknown;
  } catch (error) {
    const where = inline ? 'the schema given inline' : `schema file ${argument}`;
    throw new SmolVLMError('USAGE', `${where} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

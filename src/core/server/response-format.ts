/**
 * `response_format` of a chat completion request, parsed into the library's structured-output form
 * (issue 14): `{"type":"json_object"}` -> `{ format: 'json' }`; `{"type":"json_schema","json_schema":
 * {"name","schema","strict"}}` and llama.cpp's `{"type":"json_object","schema":…}` -> `{ format: { schema } }`;
 * `{"type":"text"}` -> none.
 */
import { describeValue, isRecord, type UntypedRecord } from '../untyped.js';
import { invalidField } from './errors.js';

export type ResponseFormat = { format: 'json' } | { format: { schema: UntypedRecord } };

export function parseResponseFormat(value: unknown): ResponseFormat | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw invalidField('response_format', `response_format must be an object with a type, got ${describeValue(value)}`);
  switch (value.type) {
    case 'text':
      return undefined;
    case 'json_object':
      return value.schema === undefined || value.schema === null ? { format: 'json' } : { format: { schema: schemaOf(value.schema, 'response_format.schema') } };
    case 'json_schema': {
      const spec = value.json_schema;
      if (!isRecord(spec)) throw invalidField('response_format.json_schema', `response_format.json_schema must be an object with a schema, got ${describeValue(spec)}`);
      return { format: { schema: schemaOf(spec.schema, 'response_format.json_schema.schema') } };
    }
    default:
      throw invalidField('response_format.type', `response_format.type must be "text", "json_object" or "json_schema", got ${describeValue(value.type)}`);
  }
}

function schemaOf(value: unknown, param: string): UntypedRecord {
  if (!isRecord(value)) throw invalidField(param, `${param} must be a JSON Schema object, got ${describeValue(value)}`);
  return value;
}

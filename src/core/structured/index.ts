/** Structured output: answers constrained token by token to JSON or to a JSON Schema. */
export { readStructuredAnswer, type StructuredAnswer } from './answer.js';
export { JsonConstraint } from './constraint.js';
export { checkOutputFormat, formatFromResponseFormat, type OutputFormat, readSchemaArgument } from './format.js';
export type { JsonObject, JsonSchema, JsonValue } from './json.js';
export { checkSchema } from './schema.js';
export { type StructuredModelInfo, StructuredOutput } from './structured-output.js';

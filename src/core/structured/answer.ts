import type { JsonValue } from './json.js';

/** A structured answer once generation stopped. */
export type StructuredAnswer =
  /** The document is complete; `data` is the parsed value (valid against the schema). */
  | { complete: true; data: JsonValue }
  /** Generation stopped first (max tokens, a stop string, the context, an abort); the text is kept. */
  | { complete: false; message: string };

/**
 * Reads the answer text of a constrained generation. `complete` is the constraint's `canEnd()` when
 * generation stopped (true after an end-of-sequence token): a document the grammar accepted parses,
 * so a parse error here would be a bug, reported as incomplete rather than thrown.
 */
export function readStructuredAnswer(text: string, complete: boolean): StructuredAnswer {
  if (!complete) {
    return { complete: false, message: `the JSON answer is incomplete: generation stopped after ${text.length} characters, before the document ended (raise the maximum number of new tokens)` };
  }
  try {
    return { complete: true, data: JSON.parse(text) as JsonValue };
  } catch (error) {
    return { complete: false, message: `the JSON answer does not parse: ${(error as Error).message}` };
  }
}

/**
 * --format and --schema: the answer format read and checked before the model loads, so a bad schema
 * is a usage error (exit 2) naming the problem; and what an answer with a format adds to the output.
 * Used by describe, ask, story and chat. Still to wire: `caption` (its record carries `data`, from
 * structuredJson) and `serve` (response_format through formatFromResponseFormat), on their branches.
 */
import type { GenerationResult, OutputFormat } from '../index.js';
import { IncompleteJsonError, UsageError } from './errors.js';
import type { FormatOptions } from './options.js';

/** The format the options ask for (undefined without --format and --schema). */
export async function readOutputFormat(options: FormatOptions & { stop?: string[] }): Promise<OutputFormat | undefined> {
  if (options.format !== undefined && options.schema !== undefined) {
    throw new UsageError('give --format json or --schema, not both (a schema already means JSON)');
  }
  if (options.format === undefined && options.schema === undefined) return undefined;
  // The schema code loads only when a format is asked for: the CLI bundle keeps it out of `--help`.
  const { checkOutputFormat, readSchemaArgument } = await import('../index.js');
  const format: unknown = options.schema !== undefined ? { schema: await readSchemaArgument(options.schema) } : options.format;
  checkOutputFormat(format);
  if (options.stop !== undefined && options.stop.length > 0) {
    throw new UsageError('--stop cannot be used with --format or --schema (the answer ends when its JSON document is complete)');
  }
  // Checked just above.
  return format as OutputFormat;
}

/** The `data` field of an answer's --json object: the parsed value of a complete structured answer. */
export function structuredJson(result: GenerationResult): { data?: unknown } {
  return result.structured?.complete ? { data: result.structured.data } : {};
}

/** The error of a structured answer that stopped before its document ended (exit 1), or undefined. */
export function incompleteAnswer(result: GenerationResult): IncompleteJsonError | undefined {
  return result.structured && !result.structured.complete ? new IncompleteJsonError(result.structured.message) : undefined;
}

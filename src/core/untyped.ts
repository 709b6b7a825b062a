/** Helpers for checking values that arrive untyped at the library's edge (JavaScript callers, JSON). */
import { SmolVLMError } from './errors.js';

export type UntypedRecord = Readonly<Record<string, unknown>>;

/** A plain object (not null, not an array). */
export function isRecord(value: unknown): value is UntypedRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a value is, for messages such as "got a number (42)". */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  switch (typeof value) {
    case 'string':
      return value.length > 40 ? 'a string' : `the string ${JSON.stringify(value)}`;
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${typeof value === 'boolean' ? 'a boolean' : 'a number'} (${String(value)})`;
    case 'function':
      return 'a function';
    default:
      return value instanceof Uint8Array ? 'bytes' : 'an object';
  }
}

/** Throws a USAGE SmolVLMError (a misused API: the CLI's exit code 2). */
export function usageError(message: string): never {
  throw new SmolVLMError('USAGE', message);
}

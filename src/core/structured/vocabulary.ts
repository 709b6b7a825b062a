import { SmolVLMError } from '../errors.js';
import { hasInvalidUtf8, Utf8Guard } from './utf8-guard.js';

/** A model's tokens as the grammar engine takes them: one string per logit, in id order. */
export interface EngineVocabulary {
  /**
   * Token strings in byte-level form (GPT-2's byte -> printable character table); the engine maps
   * them back to bytes. Special tokens, ids the tokenizer lacks and tokens with bytes that never
   * occur in our JSON are '', which the engine never allows, so a JSON string can never contain
   * `<image>` or end the turn by accident.
   */
  tokens: string[];
  /** Ids that end generation; the engine allows them only once the document is complete. */
  stopTokenIds: number[];
  /** What the engine misses about UTF-8 across tokens. */
  utf8: Utf8Guard;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function hasByteLevel(component: unknown): boolean {
  if (!isObject(component)) return false;
  if (component.type === 'ByteLevel') return true;
  const parts = component.decoders ?? component.pretokenizers;
  return Array.isArray(parts) && parts.some(hasByteLevel);
}

let byteLevelChars: string[] | undefined;

/** GPT-2's table: every byte as a printable character (the form byte-level BPE vocabularies use). */
function byteLevelTable(): string[] {
  if (byteLevelChars) return byteLevelChars;
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++);
  byteLevelChars = table;
  return table;
}

let byteOfChar: Map<string, number> | undefined;

/** The bytes a byte-level token string stands for. */
function tokenBytes(token: string): number[] {
  byteOfChar ??= new Map(byteLevelTable().map((char, byte) => [char, byte]));
  const bytes: number[] = [];
  for (const char of token) {
    const byte = byteOfChar.get(char);
    if (byte === undefined) bytes.push(...new TextEncoder().encode(char));
    else bytes.push(byte);
  }
  return bytes;
}

/**
 * Bytes that never occur in the JSON text we generate: control characters (a JSON string must
 * escape them, and the grammar allows no free whitespace), and bytes that occur in no valid UTF-8.
 * The engine's length-bounded strings would accept both, giving text that does not parse, so
 * tokens holding them are withheld from it.
 */
const neverInJson = (byte: number) => byte < 0x20 || byte === 0xc0 || byte === 0xc1 || byte >= 0xf5;

/** Raw text (a non-special added token's content) in byte-level form. */
export function toByteLevel(text: string): string {
  const table = byteLevelTable();
  return Array.from(new TextEncoder().encode(text), (b) => table[b]!).join('');
}

/**
 * Reads the vocabulary out of a model's tokenizer.json (untyped JSON, checked here). Only
 * byte-level BPE tokenizers are supported: SmolVLM's (SmolLM2's) is one, and the engine must know
 * how token strings map to bytes to constrain a JSON document byte by byte.
 */
export function engineVocabulary(tokenizerJson: unknown, vocabSize: number, eosTokenIds: readonly number[]): EngineVocabulary {
  const invalid = (why: string) => new SmolVLMError('MODEL_INVALID', `tokenizer.json ${why}`);
  if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) throw invalid('has no model section');
  const { model } = tokenizerJson;
  if (!isObject(model.vocab)) throw invalid('has no model.vocab');
  if (model.type !== 'BPE' || !hasByteLevel(tokenizerJson.decoder)) {
    throw new SmolVLMError('USAGE', `structured output needs a byte-level BPE tokenizer; this model's is ${String(model.type)} without a ByteLevel decoder`);
  }
  if (!Number.isInteger(vocabSize) || vocabSize <= 0) throw new SmolVLMError('USAGE', `vocabulary size ${vocabSize} is not a positive integer`);

  const tokens = new Array<string>(vocabSize).fill('');
  for (const [token, id] of Object.entries(model.vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw invalid(`gives token ${JSON.stringify(token)} the id ${String(id)}`);
    if (id < vocabSize) tokens[id] = token;
  }
  const added = Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : [];
  for (const entry of added) {
    if (!isObject(entry) || typeof entry.id !== 'number' || typeof entry.content !== 'string') throw invalid('has a malformed added_tokens entry');
    if (entry.id < 0 || entry.id >= vocabSize) continue;
    tokens[entry.id] = entry.special === true ? '' : toByteLevel(entry.content);
  }
  const stopTokenIds = eosTokenIds.filter((id) => Number.isInteger(id) && id >= 0 && id < vocabSize);
  if (stopTokenIds.length === 0) throw new SmolVLMError('USAGE', 'structured output needs an end-of-sequence token id inside the vocabulary');
  for (const id of stopTokenIds) tokens[id] = '';
  const first = new Int16Array(vocabSize).fill(-1);
  const last = new Int16Array(vocabSize).fill(-1);
  for (let id = 0; id < vocabSize; id++) {
    const bytes = tokenBytes(tokens[id]!);
    if (bytes.length === 0 || bytes.some(neverInJson) || hasInvalidUtf8(bytes)) {
      tokens[id] = '';
      continue;
    }
    first[id] = bytes[0]!;
    last[id] = bytes[bytes.length - 1]!;
  }
  return { tokens, stopTokenIds, utf8: new Utf8Guard(first, last) };
}

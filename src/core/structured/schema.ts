/**
 * Checks a JSON Schema before it reaches the grammar engine, and rewrites it into the form the
 * engine enforces exactly. Everything the engine would ignore, enforce wrongly or abort on is
 * refused here with one line naming the keyword and where it is (SmolVLMError USAGE): a schema is
 * either enforced or refused, never silently weakened.
 *
 * What xgrammar 0.1.27 (the npm build) gets wrong, found by feeding it documents and by sampling
 * constrained documents and validating them with ajv: `format` is approximate (accepts 2024-02-31),
 * `pattern` can produce invalid JSON (its `.` matches the closing quote), bounds need care
 * (numbers.ts), `required` names missing from `properties` are not required,
 * `multipleOf`/`uniqueItems`/`not`/`oneOf`/`allOf`/`if` are ignored, keywords beside `$ref` are
 * ignored, and a property name that needs escaping aborts it.
 */
import { SmolVLMError } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonSchema, type JsonValue } from './json.js';
import { boundedNumber, BOUNDS, boundsProblem } from './numbers.js';

/** Keywords that only describe; they do not constrain, so they are accepted and left alone. */
const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', '$comment', '$schema']);

/** Keywords that may stand beside `$ref`: they hold or name schemas but constrain nothing there. */
const NOT_CONSTRAINTS = new Set(['$ref', '$defs', 'definitions', '$id']);

const TYPES = new Set(['null', 'boolean', 'object', 'array', 'number', 'string', 'integer']);

/** Keywords the engine cannot enforce (exactly), with what to use instead where there is something. */
const UNSUPPORTED = new Map<string, string>(Object.entries({
  format: 'use enum, or a plain string',
  pattern: 'use enum, or minLength/maxLength',
  multipleOf: '',
  uniqueItems: '',
  contains: '',
  minContains: '',
  maxContains: '',
  not: '',
  allOf: 'merge the schemas into one',
  oneOf: 'use anyOf',
  if: '',
  then: '',
  else: '',
  dependentRequired: '',
  dependentSchemas: '',
  dependencies: '',
  patternProperties: 'list the names in properties',
  propertyNames: '',
  unevaluatedProperties: 'use additionalProperties',
  unevaluatedItems: 'use items',
  additionalItems: 'use prefixItems and items',
  $anchor: 'use $defs and "$ref": "#/$defs/..."',
  $dynamicRef: '',
  $dynamicAnchor: '',
  $recursiveRef: '',
  $recursiveAnchor: '',
  $vocabulary: '',
  contentEncoding: '',
  contentMediaType: '',
  contentSchema: '',
}));

const COUNTS = ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties'] as const;
const SUPPORTED = new Set<string>([
  'type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'items', 'prefixItems', 'anyOf',
  '$ref', '$defs', 'definitions', '$id', ...BOUNDS, ...COUNTS,
]);

const fail = (message: string): never => {
  throw new SmolVLMError('USAGE', `schema: ${message}`);
};

/** `/properties/a~1b` style location for messages ('' is the root). */
const at = (path: string) => (path === '' ? 'at the root' : `at ${path}`);
const pointer = (path: string, key: string | number) => `${path}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;

/** Checks that untyped input is plain JSON (what a parsed file or a library caller can hand in). */
function checkJson(value: unknown, path: string): asserts value is JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(`${String(value)} ${at(path)} is not a JSON number`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkJson(item, pointer(path, i)));
    return;
  }
  const prototype: unknown = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (prototype !== Object.prototype && prototype !== null) {
    fail(`${typeof value} ${at(path)} is not JSON`);
  }
  for (const [key, item] of Object.entries(value as object)) checkJson(item, pointer(path, key));
}

/** Resolves a local `$ref` ("#" or "#/json/pointer") against the root schema. */
function resolveRef(root: JsonSchema, ref: string, path: string): JsonValue {
  if (ref !== '#' && !ref.startsWith('#/')) fail(`"$ref": ${JSON.stringify(ref)} ${at(path)} is not supported: only local references ("#/$defs/name") are`);
  let node: JsonValue = root;
  for (const raw of ref === '#' ? [] : ref.slice(2).split('/')) {
    let key = raw;
    try {
      key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    } catch {
      fail(`"$ref": ${JSON.stringify(ref)} ${at(path)} is not a valid JSON pointer`);
    }
    const next: JsonValue | undefined = Array.isArray(node) ? node[Number(key)] : isJsonObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
    if (next === undefined) fail(`"$ref": ${JSON.stringify(ref)} ${at(path)} points to nothing`);
    node = next!;
  }
  return node;
}

class SchemaChecker {
  readonly #root: JsonSchema;
  /** References whose target was checked (a recursive schema refers to itself). */
  readonly #checkedRefs = new Set<string>();

  constructor(root: JsonSchema) {
    this.#root = root;
  }

  /** Checks one (sub)schema; `falseAllowed` where `false` means "no more items/properties". */
  check(schema: JsonValue, path: string, falseAllowed = false): void {
    if (schema === true) return;
    if (schema === false) {
      if (!falseAllowed) fail(`false (a schema that accepts nothing) ${at(path)} is not supported`);
      return;
    }
    if (!isJsonObject(schema)) return fail(`a schema must be an object or a boolean, not ${JSON.stringify(schema)}, ${at(path)}`);
    this.#checkKeywords(schema, path);
    this.#checkType(schema, path);
    this.#checkNumbers(schema, path);
    this.#checkObject(schema, path);
    this.#checkArray(schema, path);
    this.#checkComposition(schema, path);
  }

  #checkKeywords(schema: JsonObject, path: string): void {
    for (const key of Object.keys(schema)) {
      if (ANNOTATIONS.has(key) || SUPPORTED.has(key)) continue;
      const instead = UNSUPPORTED.get(key);
      if (instead !== undefined) fail(`"${key}" ${at(path)} is not supported (the grammar engine cannot enforce it)${instead ? `; ${instead}` : ''}`);
      fail(`unknown keyword "${key}" ${at(path)}`);
    }
    if (schema.$id !== undefined && path !== '') fail(`"$id" ${at(path)} is not supported below the root`);
    if (schema.$ref !== undefined) {
      const beside = Object.keys(schema).filter((key) => !ANNOTATIONS.has(key) && !NOT_CONSTRAINTS.has(key));
      if (beside.length > 0) fail(`"${beside[0]}" beside "$ref" ${at(path)} is not supported; move it into the referenced schema`);
    }
    for (const key of COUNTS) {
      const value = schema[key];
      if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 0)) fail(`"${key}" ${at(path)} must be an integer >= 0`);
    }
    for (const [low, high] of [['minLength', 'maxLength'], ['minItems', 'maxItems'], ['minProperties', 'maxProperties']] as const) {
      if ((schema[low] as number) > (schema[high] as number)) fail(`"${low}" is greater than "${high}" ${at(path)}`);
    }
  }

  #checkType(schema: JsonObject, path: string): void {
    if (schema.enum !== undefined && (!Array.isArray(schema.enum) || schema.enum.length === 0)) fail(`"enum" ${at(path)} must be a non-empty list`);
    const { type } = schema;
    if (type === undefined) return;
    const names = Array.isArray(type) ? type : [type];
    if (names.length === 0) fail(`"type" ${at(path)} is an empty list`);
    for (const name of names) if (typeof name !== 'string' || !TYPES.has(name)) fail(`"type" ${at(path)}: ${JSON.stringify(name)} is not a JSON Schema type`);
    if (new Set(names).size !== names.length) fail(`"type" ${at(path)} lists a type twice`);
  }

  #checkNumbers(schema: JsonObject, path: string): void {
    const problem = boundsProblem(schema);
    if (problem) fail(`${problem} ${at(path)}`);
  }

  #checkObject(schema: JsonObject, path: string): void {
    const { properties, required, additionalProperties } = schema;
    if (properties !== undefined && !isJsonObject(properties)) fail(`"properties" ${at(path)} must be an object`);
    const names = Object.keys(properties ?? {});
    for (const name of names) {
      // xgrammar writes names into its grammar unescaped: a quote or backslash breaks it.
      if (/["\\\u0000-\u001f\u007f]/.test(name)) fail(`property name ${JSON.stringify(name)} ${at(path)} is not supported (it needs escaping in JSON)`);
      this.check((properties as JsonObject)[name]!, pointer(pointer(path, 'properties'), name));
    }
    if (required !== undefined) {
      if (!Array.isArray(required) || required.some((name) => typeof name !== 'string')) fail(`"required" ${at(path)} must be a list of property names`);
      const list = required as string[];
      if (new Set(list).size !== list.length) fail(`"required" ${at(path)} names a property twice`);
      const missing = list.find((name) => !names.includes(name));
      if (missing !== undefined) fail(`required property "${missing}" ${at(path)} is not in "properties"; describe it there`);
      if (list.length > ((schema.maxProperties as number | undefined) ?? Infinity)) fail(`"required" ${at(path)} names more properties than "maxProperties" allows`);
    }
    if (additionalProperties !== undefined) this.check(additionalProperties, pointer(path, 'additionalProperties'), true);
    const closed = additionalProperties === undefined || additionalProperties === false;
    if (closed && ((schema.minProperties as number | undefined) ?? 0) > names.length) {
      fail(`"minProperties" ${at(path)} asks for more properties than the schema describes`);
    }
  }

  #checkArray(schema: JsonObject, path: string): void {
    const { items, prefixItems } = schema;
    if (Array.isArray(items)) fail(`"items" as a list ${at(path)} is not supported; use "prefixItems"`);
    if (items !== undefined) this.check(items, pointer(path, 'items'), true);
    if (prefixItems !== undefined) {
      if (!Array.isArray(prefixItems) || prefixItems.length === 0) fail(`"prefixItems" ${at(path)} must be a non-empty list of schemas`);
      (prefixItems as JsonValue[]).forEach((item, i) => this.check(item, pointer(pointer(path, 'prefixItems'), i)));
    }
    const fixed = Array.isArray(prefixItems) ? prefixItems.length : 0;
    if (items === false && ((schema.minItems as number | undefined) ?? 0) > fixed) fail(`"minItems" ${at(path)} asks for more items than "prefixItems" allows`);
  }

  #checkComposition(schema: JsonObject, path: string): void {
    const { anyOf, $ref } = schema;
    if (anyOf !== undefined) {
      if (!Array.isArray(anyOf) || anyOf.length === 0) fail(`"anyOf" ${at(path)} must be a non-empty list of schemas`);
      (anyOf as JsonValue[]).forEach((option, i) => this.check(option, pointer(pointer(path, 'anyOf'), i)));
    }
    for (const key of ['$defs', 'definitions'] as const) {
      const defs = schema[key];
      if (defs === undefined) continue;
      if (!isJsonObject(defs)) fail(`"${key}" ${at(path)} must be an object`);
      for (const [name, def] of Object.entries(defs as JsonObject)) this.check(def, pointer(pointer(path, key), name));
    }
    if ($ref !== undefined) {
      if (typeof $ref !== 'string') fail(`"$ref" ${at(path)} must be a string`);
      this.#checkRefChain($ref as string, path);
      if (!this.#checkedRefs.has($ref as string)) {
        this.#checkedRefs.add($ref as string);
        this.check(resolveRef(this.#root, $ref as string, path), ($ref as string).slice(1));
      }
    }
  }

  /** A chain of references that only leads to more references never becomes a document. */
  #checkRefChain(ref: string, path: string): void {
    const seen = new Set<string>();
    let next: string | undefined = ref;
    while (next !== undefined) {
      if (seen.has(next)) fail(`"$ref": ${JSON.stringify(ref)} ${at(path)} refers to itself without describing a value`);
      seen.add(next);
      const target = resolveRef(this.#root, next, path);
      if (!isJsonObject(target) && typeof target !== 'boolean') fail(`"$ref": ${JSON.stringify(next)} ${at(path)} does not point to a schema`);
      next = isJsonObject(target) && typeof target.$ref === 'string' ? target.$ref : undefined;
    }
  }
}

/** Keywords whose value is one schema, a list of schemas, or a map of names to schemas. */
const SCHEMA_KEYWORDS = new Set(['items', 'additionalProperties']);
const SCHEMA_LISTS = new Set(['prefixItems', 'anyOf']);
const SCHEMA_MAPS = new Set(['properties', '$defs', 'definitions']);

const mapValues = (map: JsonObject, f: (value: JsonValue) => JsonValue): JsonObject =>
  Object.fromEntries(Object.entries(map).map(([key, value]) => [key, f(value)]));

/** The schema as the engine gets it: numbers rewritten as numbers.ts explains, the rest as it is. */
function engineForm(schema: JsonValue): JsonValue {
  if (!isJsonObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if ((BOUNDS as readonly string[]).includes(key)) continue;
    if (SCHEMA_KEYWORDS.has(key)) out[key] = engineForm(value);
    else if (SCHEMA_LISTS.has(key)) out[key] = (value as JsonValue[]).map(engineForm);
    else if (SCHEMA_MAPS.has(key)) out[key] = mapValues(value as JsonObject, engineForm);
    else out[key] = value;
  }
  return boundedNumber(schema, out);
}

/**
 * Checks an untyped schema (from a file, the command line or a library caller) and returns the form
 * to hand to the engine. Throws SmolVLMError USAGE naming the first problem.
 */
export function checkSchema(schema: unknown): JsonSchema {
  checkJson(schema, '');
  if (schema !== true && !isJsonObject(schema)) return fail(`a schema must be an object (or true), not ${JSON.stringify(schema)}`);
  new SchemaChecker(schema).check(schema, '');
  return engineForm(schema) as JsonSchema;
}

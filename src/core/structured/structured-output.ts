import { SmolVLMError } from '../errors.js';
import { type ConstraintVocabulary, JsonConstraint } from './constraint.js';
import { type CheckedFormat, checkOutputFormat } from './format.js';
import { engineVocabulary } from './vocabulary.js';
import { type CompiledGrammar, engineMessage, type GrammarCompiler, withEngineOutput, xgrammar } from './xgrammar.js';

/** What structured output needs to know about a model. */
export interface StructuredModelInfo {
  /** The model's tokenizer.json, parsed (checked here). */
  tokenizerJson: unknown;
  /** Number of logits per step (text_config.vocab_size; may exceed the tokenizer's ids). */
  vocabSize: number;
  /** Ids that end generation (generation_config.json's eos_token_id). */
  eosTokenIds: readonly number[];
}

/** Compiled grammars kept per model; the least recently used is dropped past this. */
const GRAMMAR_CACHE_SIZE = 32;

/** Items separated by ", ", keys by ": ", all on one line (json.dumps' default style). */
const SEPARATORS: [string, string] = [', ', ': '];

/**
 * Structured output for one model: hands the tokenizer's vocabulary to the grammar engine once,
 * compiles each format once (cached by its canonical schema), and makes a `JsonConstraint` per
 * generation. Keep one per loaded model.
 */
export class StructuredOutput {
  readonly #info: StructuredModelInfo;
  #compiler: Promise<GrammarCompiler> | undefined;
  #vocabulary: ConstraintVocabulary | undefined;
  readonly #grammars = new Map<string, Promise<CompiledGrammar>>();

  constructor(info: StructuredModelInfo) {
    this.#info = info;
  }

  /** Hands the vocabulary to the engine (under a second for 49k tokens); later calls return at once. */
  prepare(): Promise<GrammarCompiler> {
    this.#compiler ??= (async () => {
      const { tokens, stopTokenIds, utf8 } = engineVocabulary(this.#info.tokenizerJson, this.#info.vocabSize, this.#info.eosTokenIds);
      this.#vocabulary = { stopTokenIds, vocabSize: tokens.length, utf8 };
      const { result, error } = await withEngineOutput(async () => {
        const engine = xgrammar();
        const tokenizerInfo = await engine.TokenizerInfo.createTokenizerInfo(tokens, 'byte_level', false, tokens.length, stopTokenIds);
        // The engine's own cache keys on the exact text; ours (below) on the canonical schema.
        return engine.GrammarCompiler.createGrammarCompiler(tokenizerInfo, false);
      });
      if (!result) throw new SmolVLMError('MODEL_INVALID', `the grammar engine refused the tokenizer: ${String(error)}`, { cause: error });
      return result;
    })();
    this.#compiler.catch(() => (this.#compiler = undefined));
    return this.#compiler;
  }

  /** Compiles a format (or returns the cached grammar). USAGE error when the schema is refused. */
  async compile(format: unknown): Promise<CompiledGrammar> {
    const checked = checkOutputFormat(format);
    let grammar = this.#grammars.get(checked.cacheKey);
    if (grammar) {
      this.#grammars.delete(checked.cacheKey); // re-inserted below: most recently used last
    } else {
      grammar = this.#compileChecked(checked);
      grammar.catch(() => this.#grammars.delete(checked.cacheKey));
    }
    this.#grammars.set(checked.cacheKey, grammar);
    this.#evict();
    return grammar;
  }

  /** A fresh constraint for one generation with `format`. */
  async constraint(format: unknown): Promise<JsonConstraint> {
    const grammar = await this.compile(format);
    return JsonConstraint.create(grammar, this.#vocabulary!);
  }

  async #compileChecked(checked: CheckedFormat): Promise<CompiledGrammar> {
    const compiler = await this.prepare();
    const { result, error, lines } = await withEngineOutput(() =>
      compiler.compileJSONSchema(checked.engineSchema, false, -1, SEPARATORS, checked.strict),
    );
    // The schema check should leave nothing for the engine to refuse or weaken; if it still does,
    // its message is the best one-line description of the problem.
    const complaint = lines.find((line) => /^\[(FATAL|WARNING)\]/.test(line)) ?? (error ? String(error) : undefined);
    if (complaint !== undefined || !result) {
      result?.dispose();
      throw new SmolVLMError('USAGE', `schema: the grammar engine refused it: ${engineMessage(complaint ?? 'no grammar')}`, { cause: error });
    }
    return result;
  }

  #evict(): void {
    while (this.#grammars.size > GRAMMAR_CACHE_SIZE) {
      const [key, oldest] = this.#grammars.entries().next().value as [string, Promise<CompiledGrammar>];
      this.#grammars.delete(key);
      // A matcher made from it keeps its own reference inside the engine.
      oldest.then((grammar) => grammar.dispose(), () => undefined);
    }
  }
}

/**
 * Loads the grammar engine, `@mlc-ai/web-xgrammar` (xgrammar compiled to WebAssembly), once per
 * process, and keeps what it prints out of the user's terminal.
 *
 * Why xgrammar, measured in Node 20 on the CPU with SmolVLM's 49,280-token tokenizer (a shared,
 * busy 2-core machine; scripts/structured-bench.ts repeats the xgrammar side):
 * - per decode step (our step is 15-25 ms) it costs 0.4-1.2 ms to accept a token and compute the
 *   next mask, plus 0.1-0.3 ms to apply it, and the mask can be computed while onnxruntime runs the
 *   next forward pass on its own threads (see JsonConstraint);
 * - the tokenizer is handed over once (0.4-0.9 s); a compiled grammar is cached per schema (a
 *   30-field schema compiles in about 0.5 s, or about 3 s when its strings have maxLength);
 * - it is one 2.4 MB package with no dependencies, with the per-token API a custom decode loop
 *   needs (bitmask, accept, roll back).
 * The other candidate, `@huggingface/transformers-structured-output` 4.3.0, averaged 0.7 ms per
 * step on a small schema but took 600-1000 ms per step inside a string with maxLength, needs about
 * 2 s to prepare the tokenizer, and only exports a transformers.js LogitsProcessor: it would make
 * `@huggingface/transformers` (16 MB, pulling onnxruntime-web, 141 MB, and pinning its own
 * onnxruntime-node) a runtime dependency, with about 0.9 s to import it.
 * xgrammar's weaknesses (keywords it ignores or gets wrong, bytes it lets through) are handled in
 * schema.ts, numbers.ts, vocabulary.ts and utf8-guard.ts.
 *
 * Its package ships a UMD bundle inside a `"type": "module"` package, so `import` and `require`
 * both treat the bundle as an ES module and fail; it is compiled here as the CommonJS it is.
 */
import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import type * as XGrammar from '@mlc-ai/web-xgrammar';

export type XGrammarModule = typeof XGrammar;
export type { CompiledGrammar, GrammarCompiler, GrammarMatcher, TokenizerInfo } from '@mlc-ai/web-xgrammar';

/** The parts of a CommonJS module object that loading one by hand needs (Node's own loader path). */
interface CommonJsModule {
  exports: unknown;
  filename: string;
  paths: string[];
  _compile(code: string, filename: string): void;
}

let engine: XGrammarModule | undefined;

/** The engine's exports (loads the bundle on first use; the WebAssembly starts on the first call). */
export function xgrammar(): XGrammarModule {
  if (engine) return engine;
  const file = createRequire(import.meta.url).resolve('@mlc-ai/web-xgrammar');
  const module = new Module(file) as unknown as CommonJsModule;
  module.filename = file;
  module.paths = [];
  module._compile(readFileSync(file, 'utf8'), file);
  engine = module.exports as XGrammarModule;
  return engine;
}

/**
 * What the engine printed during a call. The engine reports a refused grammar by printing a
 * `[FATAL] file.cc:line: message` line and aborting, and a silently weakened one with a
 * `[WARNING] ...` line; both become one-line errors here instead of noise on stderr.
 */
let captured: string[] | null = null;
let started: Promise<void> | undefined;

/**
 * Starts the WebAssembly with its print functions pointing here. Emscripten binds
 * `console.log`/`console.error` once, when the module starts; for that moment they are replaced by
 * forwarders, so afterwards the engine's output goes to `captured` during `withEngineOutput` and to
 * stderr otherwise (never to stdout, which carries the JSON answer).
 */
export function startEngine(): Promise<void> {
  started ??= (async () => {
    const { log, error } = console;
    const forward = (...args: unknown[]) => (captured ? captured.push(args.map(String).join(' ')) : error.apply(console, args));
    console.log = forward;
    console.error = forward;
    try {
      // Any call starts the module; this one is cheap.
      (await xgrammar().Grammar.builtinJSONGrammar()).dispose();
    } finally {
      console.log = log;
      console.error = error;
    }
  })();
  return started;
}

export interface EngineOutcome<T> {
  result?: T;
  error?: unknown;
  /** What the engine printed meanwhile. */
  lines: string[];
}

let queue: Promise<unknown> = Promise.resolve();

/** Runs `work` (one at a time, so that printed lines are attributed to the right call). */
export function withEngineOutput<T>(work: () => Promise<T>): Promise<EngineOutcome<T>> {
  const run = async (): Promise<EngineOutcome<T>> => {
    await startEngine();
    const lines: string[] = [];
    captured = lines;
    try {
      return { result: await work(), lines };
    } catch (error) {
      return { error, lines };
    } finally {
      captured = null;
    }
  };
  const outcome = queue.then(run, run);
  queue = outcome;
  return outcome;
}

/** `[FATAL] /path/json_schema_converter.cc:902: Unsupported type "x"` -> `Unsupported type "x"`. */
export function engineMessage(line: string): string {
  return line.replace(/^\[(FATAL|WARNING)\]\s*\S+:\d+:\s*/, '').trim();
}

/**
 * The heavy native and parsing modules, loaded on first use rather than when the library is imported:
 * `smolvlm --help`, `--version`, `models` and `completion` never pay for onnxruntime (its native
 * library), sharp (libvips), the tokenizer or the template engine. Each getter is synchronous
 * (`require` of the package's CommonJS entry, which every one of them ships), so code that creates
 * tensors or decodes images needs no extra await; the module is loaded once and then cached by Node.
 */
import { createRequire } from 'node:module';
// Sets the environment onnxruntime reads when it starts, before the first require below.
import './ort-env.js';
import type * as OnnxRuntimeModule from 'onnxruntime-node';
import type SharpModule from 'sharp';
import type * as TokenizersModule from '@huggingface/tokenizers';
import type * as JinjaModule from '@huggingface/jinja';

const requireModule = createRequire(import.meta.url);

function lazy<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireModule(name) as T);
}

/** onnxruntime-node (`InferenceSession`, `Tensor`, `env`). */
export const onnxRuntime = lazy<typeof OnnxRuntimeModule>('onnxruntime-node');
/** sharp, the libvips binding. */
export const sharpModule = lazy<typeof SharpModule>('sharp');
/** @huggingface/tokenizers */
export const tokenizers = lazy<typeof TokenizersModule>('@huggingface/tokenizers');
/** @huggingface/jinja (chat templates) */
export const jinja = lazy<typeof JinjaModule>('@huggingface/jinja');

/**
 * The one seam between a `--model` value and a model directory on disk. For now it accepts local
 * directories; Hub repo ids and aliases (downloads into the huggingface_hub cache) plug in here.
 */
import { stat } from 'node:fs/promises';
import { resolveLocalPath } from '../core/image/source.js';
import { SmolVLMError, type DtypeSpec } from '../index.js';
import { MODEL_ENV } from './options.js';

export interface ResolveModelOptions {
  dtype?: DtypeSpec;
  cwd?: string;
  signal?: AbortSignal;
  /** Progress lines (downloads); the CLI shows them on stderr. */
  onStatus?: (text: string) => void;
}

export interface ResolvedModel {
  /** The model directory to load. */
  dir: string;
  /** What to call the model in output: the reference as given. */
  name: string;
}

export async function resolveModel(ref: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const text = ref.trim();
  if (text === '') throw new SmolVLMError('USAGE', 'empty --model value');
  const dir = resolveLocalPath(text, { cwd: options.cwd });
  const info = await stat(dir).catch(() => undefined);
  if (info?.isDirectory()) return { dir, name: text };
  if (info) throw new SmolVLMError('MODEL_NOT_FOUND', `model ${text} is a file, not a model directory`);
  const looksLikeRepo = /^[A-Za-z0-9][\w.-]*\/[\w.-]+(@[\w./-]+)?$/.test(text) && !text.startsWith('.');
  const how = `pass a model directory (config.json, tokenizer.json, onnx/…) with --model <dir> or set ${MODEL_ENV}`;
  if (looksLikeRepo) {
    const repo = text.replace(/@.*$/, '');
    throw new SmolVLMError(
      'MODEL_NOT_FOUND',
      `model ${text} is not a local directory and downloading from the Hugging Face Hub is not available yet: ${how} ` +
        `(e.g. git clone https://huggingface.co/${repo})`,
    );
  }
  throw new SmolVLMError('MODEL_NOT_FOUND', `model directory ${text} does not exist: ${how}`);
}

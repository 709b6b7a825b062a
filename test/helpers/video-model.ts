/**
 * Model folders for video tests, made from the tiny-video fixture: one with a small context (so that
 * a short clip can overflow it), and one with the real SmolVLM2 tokenizer and configs (so that prompts
 * and token counts can be compared with transformers' goldens; its ONNX files are the fixture's, which
 * tokenizing never runs).
 */
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureFixtureModel } from '../../scripts/fixture-model/index.js';

/** Copies the fp32 ONNX files of a fixture into `dir/onnx`. */
function copyFp32Onnx(fixture: string, dir: string): void {
  mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  for (const file of readdirSync(path.join(fixture, 'onnx'))) {
    if (/^[a-z_]+\.onnx$/.test(file)) copyFileSync(path.join(fixture, 'onnx', file), path.join(dir, 'onnx', file));
  }
}

/** The tiny-video fixture with a context of `contextTokens` (config and tokenizer say so), fp32 only. */
export async function smallContextVideoModel(dir: string, contextTokens: number): Promise<string> {
  const fixture = await ensureFixtureModel('tiny-video');
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(fixture)) if (file.endsWith('.json')) copyFileSync(path.join(fixture, file), path.join(dir, file));
  const configFile = path.join(dir, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { text_config: Record<string, unknown> };
  config.text_config.max_position_embeddings = contextTokens;
  writeFileSync(configFile, JSON.stringify(config));
  copyFp32Onnx(fixture, dir);
  return dir;
}

/** The SmolVLM2 reference files (tokenizer, configs, chat template) over the tiny-video fixture's ONNX files. */
export async function referenceTokenizerModel(dir: string, referenceDir: string): Promise<string> {
  const fixture = await ensureFixtureModel('tiny-video');
  cpSync(referenceDir, dir, { recursive: true });
  copyFp32Onnx(fixture, dir);
  return dir;
}

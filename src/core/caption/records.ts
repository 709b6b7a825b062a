/**
 * The JSON lines a caption run writes: one record per captioned image (a valid Hugging Face
 * `imagefolder` metadata line: `file_name` plus columns) and one per failed image, and the check of
 * records read back when resuming.
 */
import path from 'node:path';
import type { CaptionFailure, CaptionOutput, CaptionTimings, CaptionUsage } from './types.js';

/** What every record of one output file shares; resuming refuses a file written with other values. */
export interface RecordContext {
  model: string;
  prompt: string;
}

/** A record read back from an output file: what resuming needs. */
export interface StoredRecord {
  fileName: string;
  text: string;
  model: string;
  prompt: string;
}

/**
 * The record's `file_name` of an image: its path relative to `bases` (the output file's folder, as
 * given and as its real path) with `/` separators when the image lies inside, else the absolute path.
 */
export function recordFileName(image: string, bases: readonly string[]): string {
  for (const base of bases) {
    const relative = path.relative(base, image);
    if (relative !== '' && !relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative)) {
      return relative.split(path.sep).join('/');
    }
  }
  return image;
}

function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function usageJson(usage: CaptionUsage): Record<string, number> {
  const out: Record<string, number> = {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
  if (usage.imageTokens !== undefined) out.image_tokens = usage.imageTokens;
  if (usage.cachedTokens !== undefined) out.cached_tokens = usage.cachedTokens;
  return out;
}

function timingsJson(timings: CaptionTimings): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(timings)) if (Number.isFinite(value)) out[snakeCase(name)] = roundTo(value, 1);
  return out;
}

/** The output line of a captioned image (without its newline). `wallMs` is used when the captioner gave no `totalMs`. */
export function captionRecord(fileName: string, output: CaptionOutput, context: RecordContext, wallMs: number): Record<string, unknown> {
  const record: Record<string, unknown> = {
    file_name: fileName,
    text: output.text,
    model: context.model,
    prompt: context.prompt,
    finish_reason: output.finishReason,
  };
  if (output.usage) record.usage = usageJson(output.usage);
  record.timings = timingsJson({ totalMs: wallMs, ...output.timings });
  if (output.data !== undefined) record.data = output.data;
  return record;
}

/** The errors-file line of a failed image. */
export function errorRecord(fileName: string, failure: CaptionFailure, context: RecordContext): Record<string, unknown> {
  return { file_name: fileName, error: { code: failure.code, message: failure.message }, model: context.model, prompt: context.prompt };
}

/** A parsed output line as a StoredRecord, or the reason it is not one (completing "is not a caption record: …"). */
export function parseStoredRecord(value: unknown): StoredRecord | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  for (const key of ['file_name', 'text', 'model', 'prompt']) {
    if (typeof record[key] !== 'string') return `no "${key}" string`;
  }
  return {
    fileName: record.file_name as string,
    text: record.text as string,
    model: record.model as string,
    prompt: record.prompt as string,
  };
}

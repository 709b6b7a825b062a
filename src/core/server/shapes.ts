/** The JSON a chat completions server answers with, in the shapes the official `openai` clients read. */
import { randomUUID } from 'node:crypto';
import type { FinishReason, Usage } from '../generation/types.js';

/** What every object of one completion shares. */
export interface CompletionMeta {
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
}

export function completionMeta(model: string): CompletionMeta {
  return { id: `chatcmpl-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model };
}

/** OpenAI's finish reasons: `length` when the answer was cut (max tokens or a full context), else `stop`. */
export function openAiFinishReason(reason: FinishReason): 'stop' | 'length' {
  return reason === 'length' || reason === 'context' ? 'length' : 'stop';
}

export interface UsageJson {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usageJson(usage: Usage): UsageJson {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens },
  };
}

/** The answer of a request without `stream`. */
export function completionJson(meta: CompletionMeta, text: string, finishReason: FinishReason, usage: Usage) {
  return {
    ...meta,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: openAiFinishReason(finishReason) }],
    usage: usageJson(usage),
  };
}

/** One streamed chunk: the role first, then text pieces, then an empty delta with the finish reason. */
export function chunkJson(meta: CompletionMeta, delta: { role?: 'assistant'; content?: string }, finishReason: FinishReason | null = null) {
  return {
    ...meta,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason === null ? null : openAiFinishReason(finishReason) }],
  };
}

/** The last chunk with `stream_options.include_usage`: no choices, the usage. */
export function usageChunkJson(meta: CompletionMeta, usage: Usage) {
  return { ...meta, object: 'chat.completion.chunk', choices: [], usage: usageJson(usage) };
}

/** GET /v1/models: the one loaded model. */
export function modelsJson(model: string, created: number) {
  return { object: 'list', data: [{ id: model, object: 'model', created, owned_by: 'smolvlm' }] };
}

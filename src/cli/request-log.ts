/** `smolvlm serve`'s log line per request on stderr: method, path, status, tokens, time; the prompt only with --verbose. */
import type { RequestLog } from '../index.js';

export interface RequestLogOptions {
  json?: boolean;
  /** Show the last user message's text. */
  verbose?: boolean;
}

/** `2025-01-31T12:00:00.000Z POST /v1/chat/completions 200 24+12 tokens (8 cached) 153 ms` */
export function formatRequestLog(entry: RequestLog, options: RequestLogOptions = {}, now = new Date()): string {
  const time = now.toISOString();
  const prompt = options.verbose ? entry.prompt : undefined;
  if (options.json) {
    return JSON.stringify({
      time,
      method: entry.method,
      path: entry.path,
      status: entry.status,
      ms: entry.ms,
      prompt_tokens: entry.promptTokens,
      cached_tokens: entry.cachedTokens,
      completion_tokens: entry.completionTokens,
      aborted: entry.aborted || undefined,
      error: entry.error,
      prompt,
    });
  }
  let line = `${time} ${entry.method} ${entry.path} ${entry.status}`;
  if (entry.promptTokens !== undefined) {
    line += ` ${entry.promptTokens}+${entry.completionTokens ?? 0} tokens`;
    if (entry.cachedTokens) line += ` (${entry.cachedTokens} cached)`;
  }
  line += ` ${entry.ms} ms`;
  if (entry.aborted) line += ' (client left)';
  if (entry.error !== undefined) line += `: ${entry.error}`;
  if (prompt !== undefined) line += ` prompt=${JSON.stringify(prompt)}`;
  return line;
}

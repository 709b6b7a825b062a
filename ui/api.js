/**
 * The page's calls to its own server: /ui/config, and /v1/chat/completions streamed as Server-Sent
 * Events read from fetch's ReadableStream (EventSource cannot POST or send the API key).
 */

/** An answer the API refused: its status and message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function headers(apiKey) {
  const out = { 'content-type': 'application/json' };
  if (apiKey) out.authorization = `Bearer ${apiKey}`;
  return out;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === 'string') message = body.error.message;
  } catch {
    // Not JSON: the status line says enough.
  }
  return new ApiError(response.status, message);
}

/** GET /ui/config: { model, longest_edge, api_key_required, response_format }. */
export async function fetchConfig() {
  const response = await fetch('/ui/config');
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** The events of one SSE body, as the JSON of each `data:` line; ends at `[DONE]`. */
async function* sseData(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  signal.addEventListener('abort', cancel, { once: true });
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const line of event.split('\n')) {
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') return;
          yield JSON.parse(data);
        }
      }
    }
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

/**
 * Streams one chat completion: calls onDelta(text) for each piece of the answer and resolves with
 * { finishReason, usage } (usage from stream_options.include_usage). Rejects with ApiError when
 * the server refuses, with an AbortError when `signal` aborts.
 */
export async function streamChat(request, { apiKey, signal, onDelta }) {
  const body = { ...request, stream: true, stream_options: { include_usage: true } };
  const response = await fetch('/v1/chat/completions', { method: 'POST', headers: headers(apiKey), body: JSON.stringify(body), signal });
  if (!response.ok) throw await failure(response);
  let finishReason;
  let usage;
  for await (const chunk of sseData(response.body, signal)) {
    if (chunk.error) throw new ApiError(500, chunk.error.message ?? 'the server failed');
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices && chunk.choices[0];
    if (!choice) continue;
    if (choice.delta && typeof choice.delta.content === 'string' && choice.delta.content !== '') onDelta(choice.delta.content);
    if (choice.finish_reason) finishReason = choice.finish_reason;
  }
  signal.throwIfAborted();
  return { finishReason, usage };
}

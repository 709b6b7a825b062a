/**
 * Server-Sent Events as OpenAI streams them: `data: {json}\n\n` per event, `data: [DONE]\n\n` at the
 * end. Hand-written: it is three writes, and an SSE library would bring a framework's request model.
 */
import type { ServerResponse } from 'node:http';

export class SseWriter {
  constructor(readonly response: ServerResponse) {}

  /** Whether the client is still there to read. */
  get open(): boolean {
    return !this.response.destroyed && !this.response.writableEnded;
  }

  /** Sends the status line and headers at once, so that the client sees the stream start. */
  begin(headers: Readonly<Record<string, string>>): void {
    this.response.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Proxies (nginx) would otherwise hold the events back.
      'x-accel-buffering': 'no',
    });
    this.response.flushHeaders();
  }

  send(data: unknown): void {
    if (this.open) this.response.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** `data: [DONE]` and the end of the response. */
  done(): void {
    if (!this.open) return;
    this.response.end('data: [DONE]\n\n');
  }
}

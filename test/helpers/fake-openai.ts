/**
 * A fake OpenAI-compatible server on 127.0.0.1 (random port) for the remote-captioning and serving
 * tests: `POST /v1/chat/completions` (non-streaming) answers with a deterministic text derived from
 * the request's image and prompt, `GET /v1/models` lists one model. It records every request and can
 * be told to answer some requests with a status (429 with Retry-After, 500...), slowly, or by dropping
 * the connection.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeFault =
  /** Answer with this status and an OpenAI error body (and a Retry-After header when given). */
  | { kind: 'status'; status: number; retryAfter?: string; message?: string }
  /** Answer normally, after this long (a client timeout shorter than it aborts the request). */
  | { kind: 'slow'; delayMs: number }
  /** Read the request, then destroy the connection without answering. */
  | { kind: 'drop' };

export interface RecordedRequest {
  /** 0-based, in arrival order. */
  index: number;
  method: string;
  path: string;
  authorization?: string;
  /** The parsed JSON body (undefined when absent or not JSON). */
  body?: Record<string, unknown>;
  /** The first image_url part of a chat request, decoded from its data URL. */
  image?: { mediaType: string; bytes: Buffer };
  /** The text parts of the last user message, joined. */
  prompt?: string;
  /** The fault applied to this request, if any. */
  fault?: FakeFault['kind'];
}

export interface FakeOpenAIOptions {
  /** Require `Authorization: Bearer <apiKey>` (401 otherwise). */
  apiKey?: string;
  /** The text of an answer (default fakeOpenAIText of its image and prompt). */
  reply?: (request: RecordedRequest) => string;
  /** The model `/v1/models` lists (default `fake-model`). */
  model?: string;
}

export interface FakeOpenAI {
  /** `http://127.0.0.1:<port>` (no `/v1`). */
  url: string;
  requests: RecordedRequest[];
  /** Most requests that were open at the same time. */
  maxConcurrent: number;
  /** Chat requests only. */
  chatRequests(): RecordedRequest[];
  /** The next `times` chat requests that `match` accepts (default: any) get `fault`. Rules apply in the order given. */
  fault(fault: FakeFault, times?: number, match?: (request: RecordedRequest) => boolean): void;
  close(): Promise<void>;
}

/** The default answer: names the image by the hash of its bytes, so a test can tell answers apart. */
export function fakeOpenAIText(image: Uint8Array | undefined, prompt: string | undefined): string {
  const id = image ? createHash('sha256').update(image).digest('hex').slice(0, 12) : 'no-image';
  return `a picture ${id} described for ${JSON.stringify(prompt ?? '')}`;
}

interface FaultRule {
  fault: FakeFault;
  times: number;
  match: (request: RecordedRequest) => boolean;
}

function parseChat(body: Record<string, unknown> | undefined): Pick<RecordedRequest, 'image' | 'prompt'> {
  const messages = Array.isArray(body?.messages) ? (body.messages as { role?: unknown; content?: unknown }[]) : [];
  const user = messages.filter((m) => m.role === 'user').at(-1);
  if (!user) return {};
  if (typeof user.content === 'string') return { prompt: user.content };
  const parts = Array.isArray(user.content) ? (user.content as Record<string, unknown>[]) : [];
  const prompt = parts.filter((p) => p.type === 'text').map((p) => String(p.text)).join('\n');
  const imagePart = parts.find((p) => p.type === 'image_url');
  const url = (imagePart?.image_url as { url?: unknown } | undefined)?.url;
  const match = typeof url === 'string' ? /^data:([^;,]+);base64,(.*)$/s.exec(url) : null;
  return { prompt, image: match ? { mediaType: match[1]!, bytes: Buffer.from(match[2]!, 'base64') } : undefined };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function errorBody(message: string, type: string, code: string | null = null) {
  return { error: { message, type, param: null, code } };
}

function completion(request: RecordedRequest, text: string, model: string) {
  const maxTokens = typeof request.body?.max_tokens === 'number' ? request.body.max_tokens : Infinity;
  const words = text.split(' ');
  const kept = words.slice(0, maxTokens);
  return {
    id: `chatcmpl-fake-${request.index}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: typeof request.body?.model === 'string' ? request.body.model : model,
    choices: [{ index: 0, message: { role: 'assistant', content: kept.join(' ') }, finish_reason: kept.length < words.length ? 'length' : 'stop', logprobs: null }],
    usage: { prompt_tokens: 100, completion_tokens: kept.length, total_tokens: 100 + kept.length },
  };
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = [];
  const rules: FaultRule[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const model = options.model ?? 'fake-model';
  const fake: FakeOpenAI = {
    url: '',
    requests,
    maxConcurrent: 0,
    chatRequests: () => requests.filter((r) => r.path === '/v1/chat/completions'),
    fault(fault, times = 1, match = () => true) {
      rules.push({ fault, times, match });
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const takeFault = (request: RecordedRequest): FakeFault | undefined => {
    const rule = rules.find((r) => r.times > 0 && r.match(request));
    if (!rule) return undefined;
    rule.times--;
    return rule.fault;
  };

  const answerChat = (request: RecordedRequest, res: http.ServerResponse) => {
    const fault = takeFault(request);
    request.fault = fault?.kind;
    const answer = () => sendJson(res, 200, completion(request, (options.reply ?? ((r) => fakeOpenAIText(r.image?.bytes, r.prompt)))(request), model));
    if (!fault) return answer();
    if (fault.kind === 'drop') return res.socket?.destroy();
    if (fault.kind === 'status') {
      const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {};
      return sendJson(res, fault.status, errorBody(fault.message ?? `fake ${fault.status}`, fault.status === 429 ? 'rate_limit_error' : 'server_error'), headers);
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) answer();
    }, fault.delayMs);
    timers.add(timer);
  };

  let open = 0;
  const server = http.createServer((req, res) => {
    open++;
    fake.maxConcurrent = Math.max(fake.maxConcurrent, open);
    res.on('close', () => open--);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> | undefined;
      try {
        body = raw === '' ? undefined : (JSON.parse(raw) as Record<string, unknown>);
      } catch {
        body = undefined;
      }
      const path = (req.url ?? '/').split('?')[0]!;
      const request: RecordedRequest = { index: requests.length, method: req.method ?? 'GET', path, authorization: req.headers.authorization, body };
      requests.push(request);
      if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        return sendJson(res, 401, errorBody('Incorrect API key provided', 'invalid_request_error', 'invalid_api_key'));
      }
      if (req.method === 'GET' && path === '/v1/models') {
        return sendJson(res, 200, { object: 'list', data: [{ id: model, object: 'model', created: 1_700_000_000, owned_by: 'fake' }] });
      }
      if (req.method !== 'POST' || path !== '/v1/chat/completions') return sendJson(res, 404, errorBody(`no route ${req.method} ${path}`, 'invalid_request_error'));
      if (!body) return sendJson(res, 400, errorBody('the body is not JSON', 'invalid_request_error'));
      Object.assign(request, parseChat(body));
      answerChat(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/*
 * Why a fetch() failed, in words: one vocabulary for the Hub client (hub/http.ts) and image URLs
 * (image/source.ts). Node's fetch (undici) throws `TypeError('fetch failed')` whose chain of causes holds a
 * system error (code ENOTFOUND, ECONNREFUSED, ...), an undici error (code UND_ERR_*), or a bare Error such as
 * `bad port`; none of them names the URL, so callers put it in front.
 */

const FAILURE_TEXT: Record<string, string> = {
  ENOTFOUND: 'host not found (ENOTFOUND)',
  EAI_AGAIN: 'host name lookup failed (EAI_AGAIN; no network?)',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  UND_ERR_SOCKET: 'connection reset by the server',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
};

/** Failures that retrying within seconds will not mend. */
const LASTING_CODES = new Set(['ENOTFOUND', 'ENETUNREACH']);

/** The errors of a cause chain, outermost first (a few levels: fetch nests two or three). */
function causeChain(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let e = error; e instanceof Error && chain.length < 5; e = e.cause) chain.push(e);
  return chain;
}

/** The first error code (`ECONNREFUSED`, `UND_ERR_SOCKET`, ...) in the cause chain of a fetch failure. */
export function fetchFailureCode(error: unknown): string | undefined {
  for (const e of causeChain(error)) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code !== '') return code;
  }
  return undefined;
}

/** fetch refuses ports of other protocols (the Fetch standard's "bad port" list) before connecting. */
function isBadPort(error: unknown): boolean {
  return causeChain(error).some((e) => e.message === 'bad port');
}

function portOf(url: string | URL | undefined): string {
  if (url === undefined) return '';
  try {
    const u = new URL(url);
    return u.port || (u.protocol === 'https:' ? '443' : '80');
  } catch {
    return '';
  }
}

/**
 * A short reason for a failed fetch of `url`: `connection refused`, `host not found (ENOTFOUND)`,
 * `TLS error (CERT_HAS_EXPIRED)`, `port 1 is blocked by fetch ...`, else the innermost message.
 */
export function describeFetchFailure(error: unknown, url?: string | URL): string {
  const code = fetchFailureCode(error);
  if (code !== undefined) {
    const text = FAILURE_TEXT[code];
    if (text) return text;
    if (/CERT|SSL|TLS/i.test(code)) return `TLS error (${code})`;
  }
  if (isBadPort(error)) {
    const port = portOf(url);
    return `fetch refuses port ${port || 'of this URL'} (reserved for another protocol; use another port)`;
  }
  const innermost = causeChain(error).at(-1);
  const message = innermost ? innermost.message : String(error);
  return (message.split('\n')[0] ?? '') || code || 'fetch failed';
}

/** True for failures that retrying within seconds will not mend: no such host, no network, a refused port. */
export function isLastingFetchFailure(error: unknown): boolean {
  const code = fetchFailureCode(error);
  return (code !== undefined && LASTING_CODES.has(code)) || isBadPort(error);
}

/** JSON over fetch: one place for headers, error mapping and Link headers. */
import { apiError, NetworkError } from './errors.ts';

export interface TransportOptions {
  baseUrl: string;
  fetch?: typeof fetch;
  userAgent?: string;
}

export interface Response<T> {
  body: T;
  /** Absolute URL of the next page (RFC 8288 rel="next"), if any. */
  next: string | null;
}

export class Transport {
  readonly baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #userAgent: string | undefined;
  token: string | null = null;

  constructor(options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#userAgent = options.userAgent;
  }

  async request<T>(method: string, pathOrUrl: string, body?: unknown): Promise<Response<T>> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : this.baseUrl + pathOrUrl;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers['x-auth-token'] = this.token;
    if (this.#userAgent) headers['user-agent'] = this.#userAgent;
    let res: globalThis.Response;
    try {
      res = await this.#fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (cause) {
      throw new NetworkError(this.baseUrl, { cause });
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = { detail: `Unexpected non-JSON answer (HTTP ${res.status}).` };
    }
    if (!res.ok) throw apiError(res.status, (parsed ?? {}) as object, res.headers.get('retry-after'));
    return { body: parsed as T, next: nextLink(res.headers.get('link'), url) };
  }
}

/** The next page's URL; one on another origin is ignored, so the token is never sent elsewhere. */
function nextLink(header: string | null, requestUrl: string): string | null {
  const match = header ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(header) : null;
  if (!match) return null;
  const next = new URL(match[1]!, requestUrl);
  return next.origin === new URL(requestUrl).origin ? next.toString() : null;
}

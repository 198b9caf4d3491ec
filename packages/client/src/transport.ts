/** JSON over fetch: one place for headers, error mapping, Link headers, and retries of idempotent requests. */
import { apiError, NetworkError, ServerError, TimeoutError } from './errors.ts';
import { uploadFetch, type UploadProgress } from './upload-progress.ts';

/**
 * Retries of idempotent requests (a send with its client_id, API B10): after
 * a network error, a timeout, or a 502/503/504, the same request is sent
 * again, after a bounded exponential backoff with jitter, or after the
 * server's Retry-After when that is longer.
 */
export interface RetryOptions {
  /** Attempts in all, the first included (default 4). */
  attempts?: number;
  /** The first backoff; it doubles with each retry (default 250 ms). */
  baseDelayMs?: number;
  /** The longest backoff (default 5 s). */
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the error is thrown (default 30 s). */
  maxRetryAfterMs?: number;
  /**
   * Time for one attempt, from sending to the answer's last byte (default
   * 30 s plus 1 s per 64 KiB of body, the server's own pace for slow bodies).
   */
  timeoutMs?: number;
}

export interface TransportOptions {
  baseUrl: string;
  fetch?: typeof fetch;
  userAgent?: string;
  retry?: RetryOptions;
}

export interface RequestOptions {
  /** Safe to send more than once (the server recognises a repeat): retried as RetryOptions says. */
  idempotent?: boolean;
  /** Called as the body goes out (browsers; elsewhere once, when the answer arrives). */
  onUploadProgress?: UploadProgress;
}

export interface Response<T> {
  body: T;
  /** Absolute URL of the next page (RFC 8288 rel="next"), if any. */
  next: string | null;
}

export class Transport {
  readonly baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #customFetch: boolean;
  readonly #userAgent: string | undefined;
  readonly #retry: Required<Omit<RetryOptions, 'timeoutMs'>> & { timeoutMs: number | null };
  token: string | null = null;

  constructor(options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#customFetch = options.fetch !== undefined;
    this.#userAgent = options.userAgent;
    const retry = options.retry ?? {};
    this.#retry = {
      attempts: Math.max(1, retry.attempts ?? 4),
      baseDelayMs: retry.baseDelayMs ?? 250,
      maxDelayMs: retry.maxDelayMs ?? 5000,
      maxRetryAfterMs: retry.maxRetryAfterMs ?? 30_000,
      timeoutMs: retry.timeoutMs ?? null,
    };
  }

  async request<T>(method: string, pathOrUrl: string, body?: unknown, options: RequestOptions = {}): Promise<Response<T>> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : this.baseUrl + pathOrUrl;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers['x-auth-token'] = this.token;
    if (this.#userAgent) headers['user-agent'] = this.#userAgent;
    // Encoded once: every attempt sends the very same bytes.
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const fetchFn = this.#fetchFor(options.onUploadProgress, payload?.length ?? 0);
    if (!options.idempotent) return this.#attempt<T>(fetchFn, method, url, headers, payload, null);
    const policy = this.#retry;
    const timeoutMs = policy.timeoutMs ?? 30_000 + Math.ceil((payload?.length ?? 0) / 65_536) * 1000;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#attempt<T>(fetchFn, method, url, headers, payload, timeoutMs);
      } catch (error) {
        const delay = attempt < policy.attempts ? retryDelay(error, attempt, policy) : null;
        if (delay === null) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** The configured fetch, or one that reports upload progress when asked to and the platform can. */
  #fetchFor(onProgress: UploadProgress | undefined, bodyLength: number): typeof fetch {
    const withProgress = onProgress && !this.#customFetch ? uploadFetch(onProgress) : null;
    if (withProgress || !onProgress) return withProgress ?? this.#fetch;
    return async (input, init) => {
      const res = await this.#fetch(input, init);
      onProgress(bodyLength, bodyLength);
      return res;
    };
  }

  async #attempt<T>(
    fetchFn: typeof fetch, method: string, url: string, headers: Record<string, string>, payload: string | undefined, timeoutMs: number | null,
  ): Promise<Response<T>> {
    // The deadline covers the answer's body too: a server that stalls mid-answer is a timeout as well.
    const signal = timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs);
    let res: globalThis.Response;
    let text: string;
    try {
      res = await fetchFn(url, { method, headers, body: payload, signal });
      text = await res.text();
    } catch (cause) {
      if (signal?.aborted) throw new TimeoutError(this.baseUrl, timeoutMs!, { cause });
      throw new NetworkError(this.baseUrl, { cause });
    }
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

/** Statuses of a proxy or an overloaded server: the request may be sent again. */
const RETRIED_STATUSES = new Set([502, 503, 504]);

/** How long to wait before attempt `attempt + 1`, or null when `error` is not worth a retry. */
function retryDelay(error: unknown, attempt: number, policy: { baseDelayMs: number; maxDelayMs: number; maxRetryAfterMs: number }): number | null {
  const retryAfterMs = error instanceof ServerError && error.retryAfterSeconds !== null ? error.retryAfterSeconds * 1000 : 0;
  const retried = error instanceof NetworkError || (error instanceof ServerError && RETRIED_STATUSES.has(error.status));
  if (!retried || retryAfterMs > policy.maxRetryAfterMs) return null;
  // Exponential, capped, with "equal jitter": at least half the step, so retries spread out but never bunch at zero.
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.max(retryAfterMs, step / 2 + Math.random() * (step / 2));
}

/** The next page's URL; one on another origin is ignored, so the token is never sent elsewhere. */
function nextLink(header: string | null, requestUrl: string): string | null {
  const match = header ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(header) : null;
  if (!match) return null;
  const next = new URL(match[1]!, requestUrl);
  return next.origin === new URL(requestUrl).origin ? next.toString() : null;
}

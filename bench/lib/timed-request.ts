/** One HTTP request on its own connection, timed to its last response byte; the response body is counted, not kept. */
import { request } from 'node:http';

export interface TimedResponse {
  status: number | null;
  ms: number;
  bytes: number;
  retryAfter: string | null;
  /** the body, when `keep` was asked for */
  text: string;
  error: string | null;
}

export function timedRequest(
  url: string,
  method: 'GET' | 'POST',
  path: string,
  { headers = {}, body, timeoutMs = 120_000, keep = false }: { headers?: Record<string, string>; body?: Buffer; timeoutMs?: number; keep?: boolean } = {},
): Promise<TimedResponse> {
  const start = performance.now();
  const out: TimedResponse = { status: null, ms: 0, bytes: 0, retryAfter: null, text: '', error: null };
  return new Promise((resolve) => {
    let settled = false;
    const finish = (error: string | null) => {
      if (settled) return;
      settled = true;
      out.ms = performance.now() - start;
      out.error = error;
      resolve(out);
    };
    const req = request(url + path, { method, agent: false, headers: { ...headers, ...(body ? { 'content-length': body.length } : {}) }, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      out.status = res.statusCode ?? null;
      out.retryAfter = (res.headers['retry-after'] as string | undefined) ?? null;
      res.on('data', (chunk: Buffer) => {
        out.bytes += chunk.length;
        if (keep) out.text += chunk.toString('utf8');
      });
      res.on('end', () => finish(null));
      res.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    });
    req.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.name));
    req.end(body);
  });
}

/** A JSON POST, timed. */
export function timedPost(url: string, path: string, json: unknown, token?: string, keep = false): Promise<TimedResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { 'x-auth-token': token } : {}) };
  return timedRequest(url, 'POST', path, { headers, body: Buffer.from(JSON.stringify(json)), keep });
}

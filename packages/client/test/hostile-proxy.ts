/**
 * A hostile server for tests: forwards every request to a real one and lets a
 * test rewrite the JSON it answers, as a malicious or broken server could.
 *
 * @example
 * const proxy = await startHostileProxy(server.url);
 * proxy.tamper('/api/users/', (users) => users.map(…));
 * new SecureChatClient({ baseUrl: proxy.url });
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

// The answers are whatever JSON the test rewrites.
type Rewrite = (body: any, status: number) => unknown;

export interface HostileProxy {
  url: string;
  /** Every request seen, as "METHOD /path?query". */
  requests: string[];
  /** Rewrites the JSON answers to requests whose path starts with `pathPrefix` (later rules run after earlier ones). */
  tamper(pathPrefix: string, rewrite: Rewrite): void;
  /** Forgets every rule and request. */
  reset(): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'content-encoding', 'keep-alive']);

export async function startHostileProxy(target: string): Promise<HostileProxy> {
  const rules: { prefix: string; rewrite: Rewrite }[] = [];
  const requests: string[] = [];

  const server = createServer(async (req, res) => {
    try {
      requests.push(`${req.method} ${req.url}`);
      const body = await readBody(req);
      const headers = Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name)) as [string, string][];
      const upstream = await fetch(target + req.url, { method: req.method, headers, body: body.length > 0 ? new Uint8Array(body) : undefined });
      let text = await upstream.text();
      const path = new URL(req.url!, target).pathname;
      for (const rule of rules.filter((r) => path.startsWith(r.prefix))) {
        text = JSON.stringify(rule.rewrite(JSON.parse(text), upstream.status));
      }
      upstream.headers.forEach((value, name) => {
        if (!HOP_BY_HOP.has(name)) res.setHeader(name, value);
      });
      res.writeHead(upstream.status).end(text);
    } catch (error) {
      res.writeHead(502).end(JSON.stringify({ detail: `proxy: ${String(error)}` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    tamper: (prefix, rewrite) => void rules.push({ prefix, rewrite }),
    reset() {
      rules.length = 0;
      requests.length = 0;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

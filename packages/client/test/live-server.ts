/** A real SecureChat server listening on a free port, for SDK and CLI tests. */
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { buildApp, loadConfig, openStore } from '@securechat/server';

export interface LiveServer {
  url: string;
  /** Everything the server logged. */
  logs(): string;
  close(): Promise<void>;
}

/** `options.port` listens on that port (e.g. to restart a server where it was, with the same DATABASE_URL file). */
export async function startLiveServer(env: Record<string, string> = {}, options: { port?: number } = {}): Promise<LiveServer> {
  const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', KDF_ITERATIONS: '100000', RATE_LIMIT_AUTH_PER_MIN: '0', LOG_LEVEL: 'info', PORT: '0', ...env });
  const chunks: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const store = await openStore(config.databaseUrl);
  const app = await buildApp({ config, store, logStream });
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    logs: () => chunks.join(''),
    async close() {
      await app.close();
      await store.close();
    },
  };
}

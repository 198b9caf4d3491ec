/**
 * A real server with the web app at `/`, on a SQLite file that a test can
 * change directly, as a dishonest operator (or anyone holding the database)
 * could: `tamper` stops the server (so nothing it cached remembers the honest
 * rows), runs SQL on the file, and starts it again on the same port with the
 * same database, so pages keep their URL and their sessions. The same idea as
 * packages/client/test/tamperable-server.ts, on the server's sources like the
 * other browser tests (browser.ts) and with a private copy of the web app.
 *
 * @example
 * const server = await startTamperableWebServer();
 * await server.tamper((db) => db.prepare('UPDATE messages SET signature = NULL WHERE id = ?').run(id));
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { buildApp } from '../../server/src/app.ts';
import { openStore } from '../../server/src/store/index.ts';
import { testConfig } from '../../server/test/helpers.ts';
import { DIST_INDEX } from './skip.ts';

export type Db = InstanceType<typeof Database>;

export interface TamperableWebServer {
  readonly url: string;
  /** Runs `change` (in one transaction) on the stopped server's database, then starts the server again. */
  tamper(change: (db: Db) => void): Promise<void>;
  close(): Promise<void>;
}

export async function startTamperableWebServer(): Promise<TamperableWebServer> {
  const dir = mkdtempSync(join(tmpdir(), 'securechat-web-tamper-'));
  const webRoot = join(dir, 'web');
  cpSync(dirname(DIST_INDEX), webRoot, { recursive: true });
  const file = join(dir, 'securechat.db');
  const config = testConfig({ DATABASE_URL: `sqlite:${file}`, WEB_ROOT: webRoot });

  async function start(port: number) {
    const store = await openStore(config.databaseUrl);
    const app = await buildApp({ config, store });
    await app.listen({ port, host: '127.0.0.1' });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    return { port: address.port, close: async () => (await app.close(), await store.close()) };
  }

  let running: Awaited<ReturnType<typeof start>> | null = await start(0);
  const port = running.port;
  return {
    url: `http://127.0.0.1:${port}`,
    async tamper(change) {
      await running?.close();
      running = null;
      const db = new Database(file);
      try {
        db.transaction(() => change(db))();
      } finally {
        db.close();
      }
      running = await start(port);
    },
    async close() {
      await running?.close();
      running = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

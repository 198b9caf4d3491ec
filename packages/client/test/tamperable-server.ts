/**
 * A real server on a SQLite file that a test can tamper with directly, as a
 * dishonest operator or anyone holding the database could: `tamper` stops the
 * server (so no cache of it remembers the honest rows), changes the file with
 * SQL, and starts it again on the same port with the same database, so
 * clients keep their URL and their tokens.
 *
 * @example
 * const server = await startTamperableServer();
 * await server.tamper((db) => db.prepare('UPDATE messages SET sender_id = ? WHERE id = ?').run(carolId, messageId));
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startLiveServer, type LiveServer } from './live-server.ts';

export type Db = InstanceType<typeof Database>;

export interface TamperableServer {
  readonly url: string;
  /** Runs `change` on the stopped server's database, then starts the server again. */
  tamper(change: (db: Db) => void): Promise<void>;
  close(): Promise<void>;
}

export async function startTamperableServer(env: Record<string, string> = {}): Promise<TamperableServer> {
  const dir = mkdtempSync(join(tmpdir(), 'securechat-tamper-'));
  const file = join(dir, 'securechat.db');
  const serverEnv = { ...env, DATABASE_URL: `sqlite:${file}` };
  let live: LiveServer = await startLiveServer(serverEnv);
  const url = live.url;
  const port = Number(new URL(url).port);
  return {
    url,
    async tamper(change) {
      await live.close();
      const db = new Database(file);
      try {
        db.transaction(() => change(db))();
      } finally {
        db.close();
      }
      live = await startLiveServer(serverEnv, { port });
    },
    async close() {
      await live.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The messages columns a forged row needs (as the server's store writes them). */
export interface MessageRow {
  sender_id: number;
  recipient_id: number;
  key_id: number;
  sender_key_id: number | null;
  encrypted_symmetric_key: string;
  sender_encrypted_symmetric_key: string;
  encrypted_message: string;
  message_nonce: string;
  encrypted_attachment: string;
  attachment_nonce: string;
  attachment_name: string;
  attachment_mime: string;
  has_attachment: number;
  sent_at: string;
  client_id: string | null;
  signature: string | null;
}

/** Inserts a message row as it is; returns its id. */
export function insertMessage(db: Db, row: MessageRow): number {
  const columns = Object.keys(row);
  const result = db.prepare(`INSERT INTO messages (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`).run(row);
  return Number(result.lastInsertRowid);
}

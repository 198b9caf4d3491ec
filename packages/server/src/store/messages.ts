/**
 * Messages: group-committed inserts (on a writer thread for a database file),
 * keyset-paginated mailbox pages (ids from the (recipient_id, id) and
 * (sender_id, id) indexes), and rows by id.
 */
import type { Sqlite } from './database.ts';
import { GroupCommit } from './group-commit.ts';
import type { MessageRow, NewMessage } from './schema.ts';
import { WriterThread } from './writer-thread.ts';

interface RowWriter {
  insert(row: NewMessage): Promise<number>;
  close(): Promise<void>;
}

export type Mailbox = 'inbox' | 'sent';

export interface MailboxPage {
  userId: number;
  mailbox: Mailbox;
  limit: number;
  /** newest-first below this id */
  beforeId?: number;
  /** oldest-first above this id */
  afterId?: number;
}

const SELECT_WITH_USERNAMES = `
  SELECT m.*, s.username AS sender_username, r.username AS recipient_username
  FROM messages m
  JOIN users s ON s.id = m.sender_id
  JOIN users r ON r.id = m.recipient_id`;

const COLUMNS = [
  'sender_id', 'recipient_id', 'key_id', 'sender_key_id', 'encrypted_symmetric_key', 'sender_encrypted_symmetric_key', 'encrypted_message',
  'message_nonce', 'encrypted_attachment', 'attachment_nonce', 'attachment_name', 'attachment_mime', 'has_attachment', 'sent_at',
] as const;

export class MessageRepository {
  readonly #writer: RowWriter;
  readonly #byIds;
  readonly #pages;

  constructor(sqlite: Sqlite) {
    const insertSql = `INSERT INTO messages (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => '@' + c).join(', ')})`;
    this.#writer = sqlite.memory ? inThreadWriter(sqlite, insertSql) : new WriterThread(sqlite.name, insertSql);
    this.#byIds = sqlite.prepare<[string], MessageRow>(`${SELECT_WITH_USERNAMES} WHERE m.id IN (SELECT value FROM json_each(?))`);
    // Pages read ids only: answered from the index alone, without touching message rows.
    const page = (owner: string, where: string, order: 'ASC' | 'DESC') =>
      sqlite
        .prepare<{ user: number; cursor: number; limit: number }, number>(`SELECT id FROM messages WHERE ${owner} = @user ${where} ORDER BY id ${order} LIMIT @limit`)
        .pluck();
    this.#pages = {
      inbox: { newest: page('recipient_id', 'AND id < @cursor', 'DESC'), after: page('recipient_id', 'AND id > @cursor', 'ASC') },
      sent: { newest: page('sender_id', 'AND id < @cursor', 'DESC'), after: page('sender_id', 'AND id > @cursor', 'ASC') },
    };
  }

  /** Resolves with the new id once the message is committed to disk. */
  insert(message: NewMessage): Promise<number> {
    return this.#writer.insert(message);
  }

  /** Commits pending inserts and stops the writer. */
  close(): Promise<void> {
    return this.#writer.close();
  }

  /** Rows for these ids, in no particular order; absent ids are skipped. */
  async findByIds(ids: number[]): Promise<MessageRow[]> {
    return ids.length === 0 ? [] : this.#byIds.all(JSON.stringify(ids));
  }

  /** The ids of one mailbox page, in page order. */
  async listIds(page: MailboxPage): Promise<number[]> {
    const statements = this.#pages[page.mailbox];
    if (page.afterId !== undefined) return statements.after.all({ user: page.userId, cursor: page.afterId, limit: page.limit });
    return statements.newest.all({ user: page.userId, cursor: page.beforeId ?? Number.MAX_SAFE_INTEGER, limit: page.limit });
  }
}

/** An in-memory database has one connection only: group commit on the event loop. */
function inThreadWriter(sqlite: Sqlite, insertSql: string): RowWriter {
  const insert = sqlite.prepare(insertSql);
  const commits = new GroupCommit(sqlite, (row: NewMessage) => Number(insert.run(row).lastInsertRowid));
  return { insert: (row) => commits.submit(row), close: async () => {} };
}

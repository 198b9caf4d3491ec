/**
 * Messages: group-committed inserts, and keyset-paginated mailbox reads on
 * the (recipient_id, id) and (sender_id, id) indexes, with prepared statements.
 */
import type { Sqlite } from './database.ts';
import { GroupCommit } from './group-commit.ts';
import type { MessageRow, NewMessage } from './schema.ts';

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
  readonly #inserts: GroupCommit<NewMessage, number>;
  readonly #byId;
  readonly #pages;

  constructor(sqlite: Sqlite) {
    const insert = sqlite.prepare(`INSERT INTO messages (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => '@' + c).join(', ')})`);
    this.#inserts = new GroupCommit(sqlite, (row: NewMessage) => Number(insert.run(row).lastInsertRowid));
    this.#byId = sqlite.prepare<[number], MessageRow>(`${SELECT_WITH_USERNAMES} WHERE m.id = ?`);
    const page = (owner: string, where: string, order: 'ASC' | 'DESC') =>
      sqlite.prepare<{ user: number; cursor: number; limit: number }, MessageRow>(
        `${SELECT_WITH_USERNAMES} WHERE m.${owner} = @user ${where} ORDER BY m.id ${order} LIMIT @limit`,
      );
    this.#pages = {
      inbox: { newest: page('recipient_id', 'AND m.id < @cursor', 'DESC'), after: page('recipient_id', 'AND m.id > @cursor', 'ASC') },
      sent: { newest: page('sender_id', 'AND m.id < @cursor', 'DESC'), after: page('sender_id', 'AND m.id > @cursor', 'ASC') },
    };
  }

  /** Resolves with the new id once the message is committed to disk. */
  insert(message: NewMessage): Promise<number> {
    return this.#inserts.submit(message);
  }

  async findById(id: number): Promise<MessageRow | undefined> {
    return this.#byId.get(id);
  }

  async list(page: MailboxPage): Promise<MessageRow[]> {
    const statements = this.#pages[page.mailbox];
    if (page.afterId !== undefined) return statements.after.all({ user: page.userId, cursor: page.afterId, limit: page.limit });
    return statements.newest.all({ user: page.userId, cursor: page.beforeId ?? Number.MAX_SAFE_INTEGER, limit: page.limit });
  }
}

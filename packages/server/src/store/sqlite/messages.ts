/**
 * Messages: group-committed inserts (on a writer thread for a database file),
 * keyset-paginated mailbox pages (ids from the (recipient_id, id) and
 * (sender_id, id) indexes), and rows by id.
 */
import {
  LARGE_ATTACHMENT_OCTETS, type CatchUpPage, type InsertOutcome, type MailboxPage, type MessageRepository, type MessageRow, type NewMessage, type PageEntry,
  type TextToEncrypt,
} from '../ports.ts';
import type { Sqlite } from './database.ts';
import { GroupCommit } from './group-commit.ts';
import { WriterThread, type WriterStatements } from './writer-thread.ts';

interface RowWriter {
  insert(row: NewMessage): Promise<InsertOutcome>;
  /** A large attachment's bytes, read where it does not block the event loop. */
  read(id: number): Promise<Buffer | null>;
  /** Called with the number of rows of each committed transaction. */
  onCommit: (rows: number) => void;
  close(): Promise<void>;
}

/** The writer thread's completer: from the sources under tsx (tests), from dist/ when compiled. */
const ENCRYPT_ON_INSERT_URL = new URL(import.meta.url.endsWith('.ts') ? './encrypt-on-insert.ts' : './encrypt-on-insert.js', import.meta.url).href;

/* Attachments from LARGE_ATTACHMENT_OCTETS on are read separately, off the event loop (writer-thread.ts).
 * octet_length() of a TEXT value comes from the row header, so checking it does not load the value. */

const COLUMNS = [
  'sender_id', 'recipient_id', 'key_id', 'sender_key_id', 'encrypted_symmetric_key', 'sender_encrypted_symmetric_key', 'encrypted_message',
  'message_nonce', 'encrypted_attachment', 'attachment_nonce', 'attachment_name', 'attachment_mime', 'has_attachment', 'sent_at', 'client_id',
  'signature',
] as const;

/**
 * Part B10. A sender's client_id is unique (the partial index of migration
 * 0002): of two rows with one client_id the second inserts nothing, inside the
 * group commit, without failing the other rows of its batch; the writer then
 * reads the row that holds it in the same transaction (EXISTING_SQL). The
 * conflict target repeats the index's WHERE, as SQLite requires for a partial index.
 */
const INSERT_SQL = `INSERT INTO messages (${COLUMNS.join(', ')}, request_digest)
  VALUES (${COLUMNS.map((c) => (c === 'encrypted_attachment' ? `CAST(@${c} AS TEXT)` : '@' + c)).join(', ')}, @request_digest)
  ON CONFLICT (sender_id, client_id) WHERE client_id IS NOT NULL DO NOTHING`;
const EXISTING_SQL = 'SELECT id, request_digest IS @request_digest AS same FROM messages WHERE sender_id = @sender_id AND client_id = @client_id';

// The attachment is read as bytes (see MessageRow), so a large one never becomes a string; a large one is left NULL here and read separately.
const SELECT_WITH_USERNAMES = `
  SELECT m.id, ${COLUMNS.filter((c) => c !== 'encrypted_attachment').map((c) => 'm.' + c).join(', ')},
    CASE WHEN octet_length(m.encrypted_attachment) < ${LARGE_ATTACHMENT_OCTETS} THEN CAST(m.encrypted_attachment AS BLOB) END AS encrypted_attachment,
    octet_length(m.encrypted_attachment) AS attachment_octets,
    s.username AS sender_username, r.username AS recipient_username
  FROM messages m
  JOIN users s ON s.id = m.sender_id
  JOIN users r ON r.id = m.recipient_id`;

// Realtime events (API B 9) carry no attachment: their rows never read it.
const SELECT_WITHOUT_ATTACHMENT = `
  SELECT m.id, ${COLUMNS.filter((c) => c !== 'encrypted_attachment').map((c) => 'm.' + c).join(', ')},
    NULL AS encrypted_attachment, octet_length(m.encrypted_attachment) AS attachment_octets,
    s.username AS sender_username, r.username AS recipient_username
  FROM messages m
  JOIN users s ON s.id = m.sender_id
  JOIN users r ON r.id = m.recipient_id`;

export class SqliteMessageRepository implements MessageRepository {
  readonly #writer: RowWriter;
  readonly #byIds;
  readonly #byClientId;
  readonly #pages;
  readonly #eventRows;
  readonly #catchUpRows;
  readonly #lastId;
  /** With a writer thread only: see MessageRepository. */
  readonly insertEncrypting?: (message: NewMessage, plaintext: TextToEncrypt) => Promise<InsertOutcome>;

  constructor(sqlite: Sqlite) {
    // A large attachment arrives as ASCII bytes; CAST stores it as TEXT like every other (in place, no copy).
    const statements = { insertSql: INSERT_SQL, existingSql: EXISTING_SQL, readSql: 'SELECT CAST(encrypted_attachment AS BLOB) FROM messages WHERE id = ?' };
    if (sqlite.memory) {
      this.#writer = inThreadWriter(sqlite, statements);
    } else {
      const writer = new WriterThread(sqlite.name, { ...statements, completerUrl: ENCRYPT_ON_INSERT_URL });
      this.#writer = writer;
      this.insertEncrypting = (message, plaintext) => writer.insertCompleting(message, plaintext);
    }
    this.#byClientId = sqlite.prepare<[number, string], { id: number; request_digest: string | null }>(
      'SELECT id, request_digest FROM messages WHERE sender_id = ? AND client_id = ?',
    );
    this.#byIds = sqlite.prepare<[string], MessageRow>(`${SELECT_WITH_USERNAMES} WHERE m.id IN (SELECT value FROM json_each(?))`);
    // Pages read ids and attachment sizes only (the size comes from the row header), so a page can be cut to
    // its attachment budget before any attachment is read.
    const page = (owner: string, where: string, order: 'ASC' | 'DESC') =>
      sqlite.prepare<{ user: number; cursor: number; limit: number }, PageEntry>(
        `SELECT id, octet_length(encrypted_attachment) AS attachment_octets FROM messages WHERE ${owner} = @user ${where} ORDER BY id ${order} LIMIT @limit`,
      );
    this.#pages = {
      inbox: { newest: page('recipient_id', 'AND id < @cursor', 'DESC'), after: page('recipient_id', 'AND id > @cursor', 'ASC') },
      sent: { newest: page('sender_id', 'AND id < @cursor', 'DESC'), after: page('sender_id', 'AND id > @cursor', 'ASC') },
    };
    this.#eventRows = sqlite.prepare<[string], MessageRow>(`${SELECT_WITHOUT_ATTACHMENT} WHERE m.id IN (SELECT value FROM json_each(?))`);
    // Each half is a range scan of its index; UNION merges them (a message to oneself once) in id order.
    const half = (owner: string) => `SELECT id FROM (SELECT id FROM messages WHERE ${owner} = @user AND id > @after AND id <= @upTo ORDER BY id LIMIT @limit)`;
    const catchUpIds = `${half('recipient_id')} UNION ${half('sender_id')} ORDER BY id LIMIT @limit`;
    this.#catchUpRows = sqlite.prepare<{ user: number; after: number; upTo: number; limit: number }, MessageRow>(
      `${SELECT_WITHOUT_ATTACHMENT} WHERE m.id IN (${catchUpIds}) ORDER BY m.id`,
    );
    this.#lastId = sqlite
      .prepare<{ user: number }, number>(
        'SELECT max(coalesce((SELECT max(id) FROM messages WHERE recipient_id = @user), 0), coalesce((SELECT max(id) FROM messages WHERE sender_id = @user), 0))',
      )
      .pluck();
  }

  /**
   * Resolves with the new id once the message is committed to disk — or, when
   * its sender already has a message with its client_id (committed before, or
   * earlier in the same transaction), with that message's id and whether its
   * request digest matched; nothing is inserted then.
   */
  insert(message: NewMessage): Promise<InsertOutcome> {
    // Part B 11: a row made without the field (tools, older tests) is unsigned.
    return this.#writer.insert(message.signature === undefined ? { ...message, signature: null } : message);
  }

  /** Part B10: the committed message its sender sent with this client_id, if any (a fast path; insert decides races). */
  async findByClientId(senderId: number, clientId: string): Promise<{ id: number; request_digest: string | null } | undefined> {
    return this.#byClientId.get(senderId, clientId);
  }

  /** Metrics: `listener` gets the number of messages of each committed transaction. */
  observeCommits(listener: (messages: number) => void): void {
    this.#writer.onCommit = listener;
  }

  /** Commits pending inserts and stops the writer. */
  close(): Promise<void> {
    return this.#writer.close();
  }

  /**
   * Rows for these ids, in no particular order; absent ids are skipped. A
   * large attachment is left unread (null): a page of them would otherwise
   * be held in memory all at once.
   */
  async findByIds(ids: number[]): Promise<MessageRow[]> {
    if (ids.length === 0) return [];
    return this.#byIds.all(JSON.stringify(ids));
  }

  /** A message's attachment (base64 as ASCII bytes), read where it does not block the event loop. */
  async readAttachment(id: number): Promise<Buffer> {
    const bytes = await this.#writer.read(id);
    if (!bytes) throw new Error(`message ${id} vanished while being read`);
    return bytes;
  }

  /** Rows for these ids without their attachments (left null, never read), in no particular order. */
  async findWithoutAttachments(ids: number[]): Promise<MessageRow[]> {
    if (ids.length === 0) return [];
    return this.#eventRows.all(JSON.stringify(ids));
  }

  async catchUpMessages(page: CatchUpPage): Promise<MessageRow[]> {
    return this.#catchUpRows.all({ user: page.userId, after: page.afterId, upTo: page.upToId, limit: page.limit });
  }

  /** The largest id among the user's messages, received or sent; 0 if none. */
  async lastIdOf(userId: number): Promise<number> {
    return this.#lastId.get({ user: userId }) ?? 0;
  }

  /** The ids of one mailbox page, in page order, with the size of each message's attachment. */
  async listPage(page: MailboxPage): Promise<PageEntry[]> {
    const statements = this.#pages[page.mailbox];
    if (page.afterId !== undefined) return statements.after.all({ user: page.userId, cursor: page.afterId, limit: page.limit });
    return statements.newest.all({ user: page.userId, cursor: page.beforeId ?? Number.MAX_SAFE_INTEGER, limit: page.limit });
  }
}

/** An in-memory database has one connection only: group commit and reads on the event loop. The same statements as writer-thread-worker.mjs. */
function inThreadWriter(sqlite: Sqlite, statements: WriterStatements & { existingSql: string }): RowWriter {
  const insert = sqlite.prepare(statements.insertSql);
  const existing = sqlite.prepare<[NewMessage], { id: number; same: number }>(statements.existingSql);
  const read = sqlite.prepare<[number], Buffer>(statements.readSql).pluck();
  const commits = new GroupCommit(sqlite, (row: NewMessage): InsertOutcome => {
    const result = insert.run(row);
    if (result.changes > 0) return Number(result.lastInsertRowid);
    const found = existing.get(row);
    if (!found) throw new Error('the insert was ignored, yet no row holds its client_id');
    return { existingId: found.id, sameRequest: found.same === 1 };
  });
  return {
    insert: (row) => commits.submit(row),
    read: async (id) => read.get(id) ?? null,
    close: async () => {},
    set onCommit(listener: (rows: number) => void) {
      commits.onCommit = listener;
    },
    get onCommit() {
      return commits.onCommit;
    },
  };
}

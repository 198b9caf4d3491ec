/**
 * Messages on PostgreSQL: group-committed inserts that become visible in id
 * order across every instance, keyset-paginated mailbox pages (ids from the
 * (recipient_id, id) and (sender_id, id) indexes), and rows by id.
 *
 * Visibility order (API B 9, B 12). A reader that sees id N must already see
 * every smaller id that will ever exist, or a catch-up "after N" skips a
 * message for good. A sequence alone does not give this: ids are drawn when
 * rows are inserted, but transactions commit in any order — instance A
 * draws 41, instance B draws 42 and commits first, and a reader sees 42
 * without 41. So every message-insert transaction starts by taking one
 * transaction-scoped advisory lock (pg_advisory_xact_lock), before it draws
 * any id, and holds it until it ends. PostgreSQL releases a transaction's
 * locks only after its commit is flushed and visible to new snapshots, so
 * the next lock holder draws larger ids and becomes visible later: commit
 * order = id order, across all instances sharing the database. A rolled
 * back insert (or one ON CONFLICT skipped) leaves a gap that never fills.
 * The lock is keyed by the messages table's OID, so one deployment's
 * instances share it while separate schemas (tenants, parallel test runs)
 * do not wait for each other. Its cost: one message-insert transaction at
 * a time per deployment — which group commit (group-commit.ts) amortises,
 * each instance committing every row that queued meanwhile in one go.
 * Only inserts through this repository draw ids under the lock; nothing
 * else may insert messages (the id is GENERATED ALWAYS).
 */
import {
  LARGE_ATTACHMENT_OCTETS, type CatchUpPage, type InsertOutcome, type MailboxPage, type MessageRepository, type MessageRow, type NewMessage, type PageEntry,
} from '../ports.ts';
import type { Pool, PoolClient } from './database.ts';
import { GroupCommit } from './group-commit.ts';

/** The first half of the advisory lock key (the second is the table's OID): an arbitrary constant of this application. */
const INSERT_LOCK_CLASS = 0x5ec0_0001;

const COLUMNS = [
  'sender_id', 'recipient_id', 'key_id', 'sender_key_id', 'encrypted_symmetric_key', 'sender_encrypted_symmetric_key', 'encrypted_message',
  'message_nonce', 'encrypted_attachment', 'attachment_nonce', 'attachment_name', 'attachment_mime', 'has_attachment', 'sent_at', 'client_id',
  'signature', 'request_digest',
] as const;

/**
 * Part B10. A sender's client_id is unique (the partial index of migration
 * 0002): of two rows with one client_id the second inserts nothing, without
 * failing the other rows of its batch; then EXISTING reads the row that
 * holds it (committed, or earlier in the same transaction). The conflict
 * target repeats the index's WHERE so PostgreSQL infers the partial index.
 */
const INSERT_PREFIX = `INSERT INTO messages (id, ${COLUMNS.join(', ')}) OVERRIDING SYSTEM VALUE VALUES`;
const INSERT_SUFFIX = 'ON CONFLICT (sender_id, client_id) WHERE client_id IS NOT NULL DO NOTHING RETURNING id';
/** A batch's ids, drawn in order from the identity's sequence (the only way ids are made: GENERATED ALWAYS). */
const DRAW_IDS = {
  name: 'securechat_message_draw_ids',
  text: `SELECT nextval(pg_get_serial_sequence('messages', 'id')) AS id FROM generate_series(1, $1::int) ORDER BY id`,
};
const EXISTING = {
  name: 'securechat_message_existing',
  text: 'SELECT id, request_digest IS NOT DISTINCT FROM $3 AS same FROM messages WHERE sender_id = $1 AND client_id = $2',
};

const READ_COLUMNS = COLUMNS.filter((c) => c !== 'encrypted_attachment' && c !== 'request_digest')
  .map((c) => `m.${c}`)
  .join(', ');

// The attachment's base64 comes back as text (its ASCII) and becomes bytes; a large one is left NULL here and read on its own.
// octet_length() of an out-of-line value reads its TOAST pointer, not the value.
const SELECT_WITH_USERNAMES = `
  SELECT m.id, ${READ_COLUMNS},
    CASE WHEN octet_length(m.encrypted_attachment) < ${LARGE_ATTACHMENT_OCTETS} THEN m.encrypted_attachment END AS encrypted_attachment,
    octet_length(m.encrypted_attachment) AS attachment_octets,
    s.username AS sender_username, r.username AS recipient_username
  FROM messages m
  JOIN users s ON s.id = m.sender_id
  JOIN users r ON r.id = m.recipient_id`;

// Realtime events (API B 9) carry no attachment: their rows never read it.
const SELECT_WITHOUT_ATTACHMENT = `
  SELECT m.id, ${READ_COLUMNS},
    NULL::text AS encrypted_attachment, octet_length(m.encrypted_attachment) AS attachment_octets,
    s.username AS sender_username, r.username AS recipient_username
  FROM messages m
  JOIN users s ON s.id = m.sender_id
  JOIN users r ON r.id = m.recipient_id`;

const BY_IDS = { name: 'securechat_message_by_ids', text: `${SELECT_WITH_USERNAMES} WHERE m.id = ANY($1::bigint[])` };
const EVENT_ROWS = { name: 'securechat_message_event_rows', text: `${SELECT_WITHOUT_ATTACHMENT} WHERE m.id = ANY($1::bigint[])` };
const BY_CLIENT_ID = { name: 'securechat_message_by_client_id', text: 'SELECT id, request_digest FROM messages WHERE sender_id = $1 AND client_id = $2' };
const ATTACHMENT = { name: 'securechat_message_attachment', text: 'SELECT encrypted_attachment FROM messages WHERE id = $1' };

/** Each half is a range scan of its index; UNION merges them (a message to oneself once), then in id order. */
const half = (owner: string) => `(SELECT id FROM messages WHERE ${owner} = $1 AND id > $2 AND id <= $3 ORDER BY id LIMIT $4)`;
const CATCH_UP_IDS = `${half('recipient_id')} UNION ${half('sender_id')} ORDER BY id LIMIT $4`;
const CATCH_UP_ROWS = { name: 'securechat_message_catch_up_rows', text: `${SELECT_WITHOUT_ATTACHMENT} WHERE m.id IN (${CATCH_UP_IDS}) ORDER BY m.id` };
const LAST_ID = {
  name: 'securechat_message_last_id',
  text: `SELECT GREATEST(
    COALESCE((SELECT max(id) FROM messages WHERE recipient_id = $1), 0),
    COALESCE((SELECT max(id) FROM messages WHERE sender_id = $1), 0)) AS last`,
};

// Pages read ids and attachment sizes only, so a page can be cut to its attachment budget before any attachment is read.
const page = (name: string, owner: string, where: string, order: 'ASC' | 'DESC') => ({
  name: `securechat_message_page_${name}`,
  text: `SELECT id, octet_length(encrypted_attachment) AS attachment_octets FROM messages WHERE ${owner} = $1 ${where} ORDER BY id ${order} LIMIT $3`,
});
const PAGES = {
  inbox: { newest: page('inbox_newest', 'recipient_id', 'AND id < $2', 'DESC'), after: page('inbox_after', 'recipient_id', 'AND id > $2', 'ASC') },
  sent: { newest: page('sent_newest', 'sender_id', 'AND id < $2', 'DESC'), after: page('sent_after', 'sender_id', 'AND id > $2', 'ASC') },
};

/** A row as the SELECTs return it: the attachment as text, the metadata as bytea (migrations.ts). */
type StoredRow = Omit<MessageRow, 'encrypted_attachment' | 'attachment_name' | 'attachment_mime'> & {
  encrypted_attachment: string | null;
  attachment_name: Buffer;
  attachment_mime: Buffer;
};

function messageRow(row: StoredRow): MessageRow {
  return {
    ...row,
    encrypted_attachment: row.encrypted_attachment === null ? null : Buffer.from(row.encrypted_attachment, 'latin1'),
    attachment_name: row.attachment_name.toString('utf8'),
    attachment_mime: row.attachment_mime.toString('utf8'),
  };
}

/** attachment_name and attachment_mime are bytea holding UTF-8 (text cannot hold U+0000, which these may); a Buffer (a row read back through Kysely) as it is. */
const utf8 = (value: string | Buffer): Buffer => (typeof value === 'string' ? Buffer.from(value, 'utf8') : value);

function insertValues(row: NewMessage): unknown[] {
  return [
    row.sender_id, row.recipient_id, row.key_id, row.sender_key_id ?? null, row.encrypted_symmetric_key, row.sender_encrypted_symmetric_key,
    row.encrypted_message, row.message_nonce,
    // A Buffer goes as a binary parameter: its bytes (the base64's ASCII) become the text as they are, never a JS string.
    row.encrypted_attachment,
    row.attachment_nonce, utf8(row.attachment_name), utf8(row.attachment_mime), row.has_attachment, row.sent_at, row.client_id ?? null,
    row.signature ?? null, row.request_digest ?? null,
  ];
}

/**
 * One batch's rows in one statement: their ids drawn first, in order, under
 * the insert lock (so id order is still commit order), then one multi-row
 * INSERT with those ids; a row that ON CONFLICT skipped (its client_id is
 * taken, by a committed row or an earlier one of this batch) is answered
 * with the row that holds it. Two round trips per batch instead of one per
 * row, while every other instance waits for the lock.
 */
async function insertRows(client: PoolClient, rows: NewMessage[]): Promise<InsertOutcome[]> {
  const { rows: drawn } = await client.query<{ id: number }>({ ...DRAW_IDS, values: [rows.length] });
  const ids = drawn.map((row) => row.id);
  const values: unknown[] = [];
  const tuples = rows.map((row, i) => {
    const first = values.length;
    values.push(ids[i], ...insertValues(row));
    return `(${Array.from({ length: COLUMNS.length + 1 }, (_, j) => `$${first + j + 1}`).join(', ')})`;
  });
  const { rows: inserted } = await client.query<{ id: number }>({ text: `${INSERT_PREFIX} ${tuples.join(', ')} ${INSERT_SUFFIX}`, values });
  const stored = new Set(inserted.map((row) => row.id));
  const outcomes: InsertOutcome[] = [];
  for (const [i, row] of rows.entries()) {
    if (stored.has(ids[i]!)) {
      outcomes.push(ids[i]!);
      continue;
    }
    const found = await client.query<{ id: number; same: boolean }>({ ...EXISTING, values: [row.sender_id, row.client_id, row.request_digest ?? null] });
    if (!found.rows[0]) throw new Error('the insert was skipped, yet no row holds its client_id');
    outcomes.push({ existingId: found.rows[0].id, sameRequest: found.rows[0].same });
  }
  return outcomes;
}

export class PostgresMessageRepository implements MessageRepository {
  readonly #pool: Pool;
  readonly #inserts: GroupCommit<NewMessage, InsertOutcome>;

  /** `tableOid`: the OID of this schema's messages table, the second half of the insert lock's key. */
  constructor(pool: Pool, tableOid: number) {
    this.#pool = pool;
    // Taken first in each insert transaction, before any id is drawn (see the top of this file).
    const lock = `SELECT pg_advisory_xact_lock(${INSERT_LOCK_CLASS}, ${tableOid | 0})`;
    this.#inserts = new GroupCommit(pool, lock, insertRows);
  }

  /** The messages table's OID in the schema the connections use (search_path). */
  static async tableOid(pool: Pool): Promise<number> {
    const { rows } = await pool.query<{ oid: number }>(`SELECT 'messages'::regclass::oid::int8 AS oid`);
    return rows[0]!.oid;
  }

  /**
   * Resolves once the message is committed — with its new id, or, when its
   * sender already has a message with its client_id, with that message's id
   * and whether its request digest matched (nothing inserted). A batch's
   * promises resolve in id order, after its COMMIT.
   */
  insert(message: NewMessage): Promise<InsertOutcome> {
    return this.#inserts.submit(message);
  }

  /** Part B10: the committed message its sender sent with this client_id, if any (a fast path; insert decides races). */
  async findByClientId(senderId: number, clientId: string): Promise<{ id: number; request_digest: string | null } | undefined> {
    return (await this.#pool.query<{ id: number; request_digest: string | null }>({ ...BY_CLIENT_ID, values: [senderId, clientId] })).rows[0];
  }

  /** Metrics: `listener` gets the number of messages of each committed transaction. */
  observeCommits(listener: (messages: number) => void): void {
    this.#inserts.onCommit = listener;
  }

  /** Commits pending inserts; later ones are refused. */
  close(): Promise<void> {
    return this.#inserts.close();
  }

  /** Rows for these ids, in no particular order; absent ids skipped; a large attachment left unread (null). */
  async findByIds(ids: number[]): Promise<MessageRow[]> {
    if (ids.length === 0) return [];
    return (await this.#pool.query<StoredRow>({ ...BY_IDS, values: [ids] })).rows.map(messageRow);
  }

  /** A message's attachment (base64 as ASCII bytes). */
  async readAttachment(id: number): Promise<Buffer> {
    const row = (await this.#pool.query<{ encrypted_attachment: string }>({ ...ATTACHMENT, values: [id] })).rows[0];
    if (!row) throw new Error(`message ${id} vanished while being read`);
    return Buffer.from(row.encrypted_attachment, 'latin1');
  }

  /** Rows for these ids without their attachments (left null, never read), in no particular order. */
  async findWithoutAttachments(ids: number[]): Promise<MessageRow[]> {
    if (ids.length === 0) return [];
    return (await this.#pool.query<StoredRow>({ ...EVENT_ROWS, values: [ids] })).rows.map(messageRow);
  }

  async catchUpMessages(page: CatchUpPage): Promise<MessageRow[]> {
    return (await this.#pool.query<StoredRow>({ ...CATCH_UP_ROWS, values: [page.userId, page.afterId, page.upToId, page.limit] })).rows.map(messageRow);
  }

  /** The largest id among the user's messages, received or sent; 0 if none. */
  async lastIdOf(userId: number): Promise<number> {
    return (await this.#pool.query<{ last: number }>({ ...LAST_ID, values: [userId] })).rows[0]?.last ?? 0;
  }

  /** The ids of one mailbox page, in page order, with the size of each message's attachment. */
  async listPage(page: MailboxPage): Promise<PageEntry[]> {
    const statements = PAGES[page.mailbox];
    if (page.afterId !== undefined) return (await this.#pool.query<PageEntry>({ ...statements.after, values: [page.userId, page.afterId, page.limit] })).rows;
    return (await this.#pool.query<PageEntry>({ ...statements.newest, values: [page.userId, page.beforeId ?? Number.MAX_SAFE_INTEGER, page.limit] })).rows;
  }
}

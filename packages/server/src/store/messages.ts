/** Messages: insert, and keyset-paginated mailbox reads on (recipient|sender, id). */
import type { Db } from './database.ts';
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

export class MessageRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async insert(message: NewMessage): Promise<number> {
    const { id } = await this.#db.insertInto('messages').values(message).returning('id').executeTakeFirstOrThrow();
    return id;
  }

  findById(id: number): Promise<MessageRow | undefined> {
    return this.#withUsernames().where('messages.id', '=', id).executeTakeFirst();
  }

  list(page: MailboxPage): Promise<MessageRow[]> {
    const owner = page.mailbox === 'inbox' ? 'messages.recipient_id' : 'messages.sender_id';
    let query = this.#withUsernames().where(owner, '=', page.userId);
    if (page.afterId !== undefined) {
      query = query.where('messages.id', '>', page.afterId).orderBy('messages.id', 'asc');
    } else {
      if (page.beforeId !== undefined) query = query.where('messages.id', '<', page.beforeId);
      query = query.orderBy('messages.id', 'desc');
    }
    return query.limit(page.limit).execute();
  }

  #withUsernames() {
    return this.#db
      .selectFrom('messages')
      .innerJoin('users as sender', 'sender.id', 'messages.sender_id')
      .innerJoin('users as recipient', 'recipient.id', 'messages.recipient_id')
      .selectAll('messages')
      .select(['sender.username as sender_username', 'recipient.username as recipient_username']);
  }
}

/**
 * Mailbox pages, remembered until the mailbox changes. A client polling its
 * inbox asks for the same first page over and over; answering from memory
 * skips the index query and, in http/message-json.ts, the page's encoding.
 *
 * Each user's mailbox has a version, bumped whenever a message to or from
 * them is committed (messages are never edited or deleted). A page is stored
 * under the version read before its query ran, and served only while that is
 * still the version, so a page racing a send can be dropped but never served
 * stale. This relies on the server owning its database, as it does.
 *
 * Bounded by count, least recently used first out.
 */
import { BoundedMap } from '../bounded-map.ts';
import type { Mailbox } from '../store/ports.ts';
import { hasLargeAttachment, type MessageView } from './views.ts';

const MAX_PAGES = 2_000;
/** Pages carrying more attachment data than this are not kept: 2,000 of them must fit in memory. */
const MAX_PAGE_ATTACHMENT_CHARS = 128 * 1024;

export interface PageKey {
  userId: number;
  direction: Mailbox;
  limit: number;
  beforeId?: number;
  afterId?: number;
}

interface Entry<P> {
  version: number;
  page: P;
}

export class PageCache<P extends { messages: MessageView[] }> {
  readonly #versions = new Map<number, number>();
  readonly #pages = new BoundedMap<string, Entry<P>>(MAX_PAGES);

  /** The user's mailbox version: read it before querying a page to store. */
  versionOf(userId: number): number {
    return this.#versions.get(userId) ?? 0;
  }

  get(key: PageKey): P | undefined {
    const id = keyOf(key);
    const entry = this.#pages.get(id);
    if (!entry) return undefined;
    this.#pages.delete(id);
    if (entry.version !== this.versionOf(key.userId)) return undefined;
    this.#pages.set(id, entry); // most recently used last
    return entry.page;
  }

  set(key: PageKey, version: number, page: P): void {
    if (version !== this.versionOf(key.userId)) return;
    // A large attachment is streamed, not kept (domain/views.ts); nor are pages heavy with small ones.
    if (page.messages.some(hasLargeAttachment)) return;
    if (page.messages.reduce((chars, message) => chars + message.encrypted_attachment.length, 0) > MAX_PAGE_ATTACHMENT_CHARS) return;
    this.#pages.set(keyOf(key), { version, page });
  }

  /** A message to or from this user was committed. */
  changed(userId: number): void {
    this.#versions.set(userId, this.versionOf(userId) + 1);
  }
}

function keyOf({ userId, direction, limit, beforeId, afterId }: PageKey): string {
  return `${userId}:${direction}:${limit}:${beforeId ?? ''}:${afterId ?? ''}`;
}

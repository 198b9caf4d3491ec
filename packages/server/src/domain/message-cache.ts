/**
 * Messages never change once stored, so their API views can be kept in
 * memory by id and served without reading the rows again — a mailbox page
 * becomes one index-only query for the ids plus cache hits. Correct across
 * server processes too: there is nothing to invalidate.
 *
 * Filled by reads, not by sends: most sent messages are read later, if at
 * all, and keeping each one as it is sent costs garbage collection on every
 * send. Bounded by count and by the attachment data held, oldest entries
 * first out; messages with a large attachment are not kept (their memory is
 * better spent elsewhere).
 */
import type { MessageView } from './views.ts';

const MAX_MESSAGES = 20_000;
const MAX_CACHED_ATTACHMENT_CHARS = 64 * 1024;
/** All cached attachments together: without it, 20,000 of 64 KiB each could pin 1.7 GB. */
const MAX_TOTAL_ATTACHMENT_CHARS = 64 * 1024 * 1024;

export class MessageCache {
  readonly #views = new Map<number, MessageView>();
  #attachmentChars = 0;

  get(id: number): MessageView | undefined {
    return this.#views.get(id);
  }

  remember(view: MessageView): MessageView {
    const chars = view.encrypted_attachment.length;
    if (chars > MAX_CACHED_ATTACHMENT_CHARS || this.#views.has(view.id)) return view;
    this.#views.set(view.id, view);
    this.#attachmentChars += chars;
    while (this.#views.size > MAX_MESSAGES || this.#attachmentChars > MAX_TOTAL_ATTACHMENT_CHARS) this.#evictOldest();
    return view;
  }

  #evictOldest(): void {
    const [id, oldest] = this.#views.entries().next().value!;
    this.#views.delete(id);
    this.#attachmentChars -= oldest.encrypted_attachment.length;
  }
}

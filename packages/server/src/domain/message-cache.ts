/**
 * Messages never change once stored, so their API views can be kept in
 * memory by id and served without reading the rows again — a mailbox page
 * becomes one index-only query for the ids plus cache hits. Correct across
 * server processes too: there is nothing to invalidate.
 *
 * Filled by reads, not by sends: most sent messages are read later, if at
 * all, and keeping each one as it is sent costs garbage collection on every
 * send. Bounded by count, oldest entries first out; messages with a large
 * attachment are not kept (their memory is better spent elsewhere).
 */
import { BoundedMap } from '../bounded-map.ts';
import type { MessageView } from './views.ts';

const MAX_MESSAGES = 20_000;
const MAX_CACHED_ATTACHMENT_CHARS = 64 * 1024;

export class MessageCache {
  readonly #views = new BoundedMap<number, MessageView>(MAX_MESSAGES);

  get(id: number): MessageView | undefined {
    return this.#views.get(id);
  }

  remember(view: MessageView): MessageView {
    if (view.encrypted_attachment.length > MAX_CACHED_ATTACHMENT_CHARS) return view;
    this.#views.set(view.id, view);
    return view;
  }
}

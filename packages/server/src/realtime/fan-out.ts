/**
 * The fan-out port (API B 9): the domain publishes what happened, after it
 * is durable; each realtime connection subscribes to its user's events.
 *
 * Events are hints that name things (ids), never the only copy of anything:
 * a connection can always read a message from the store by its id, and every
 * catch-up reads the database. So a transport that crosses processes (Redis
 * pub/sub, later) can carry them as small JSON and drop `view`, and a lost
 * event costs latency, never a message. `LocalFanOut` is the in-process
 * implementation; routes only ever see the `FanOut` interface.
 *
 * @example
 * const fanOut = new LocalFanOut();
 * const stop = fanOut.subscribe(bob.id, (event) => console.log(event.type));
 * fanOut.publish({ type: 'key_rotated', userId: bob.id, keyId: 2 });
 * stop();
 */
import type { MessageView } from '../domain/views.ts';

/** A message was committed (published only after its insert resolved, i.e. it is on disk). */
export interface MessageCommitted {
  readonly type: 'message';
  readonly id: number;
  readonly senderId: number;
  readonly recipientId: number;
  /**
   * In-process only: the view the send built, so local connections need no
   * read. A transport between processes leaves it out; subscribers then read
   * the message by id.
   */
  readonly view?: MessageView;
}

/** The user's current key version changed (rotation), or was re-sealed (password change). */
export interface KeyRotated {
  readonly type: 'key_rotated';
  readonly userId: number;
  readonly keyId: number;
}

/** Some of the user's sessions were revoked or logged out: each connection re-checks its own. */
export interface SessionsChanged {
  readonly type: 'sessions_changed';
  readonly userId: number;
}

/**
 * Events may have been lost (the Redis link between instances was down):
 * every connection reads the database for messages it has not sent yet.
 * Delivered to every subscriber, never published by the domain.
 */
export interface RecheckMessages {
  readonly type: 'recheck';
}

export type FanOutEvent = MessageCommitted | KeyRotated | SessionsChanged | RecheckMessages;

export type FanOutListener = (event: FanOutEvent) => void;

export interface FanOut {
  /**
   * True when one user's message events arrive in id order (one process
   * publishing in commit order). False across instances: events from two
   * instances can cross, so a connection reads the ids below an event's from
   * the database before sending it (event-stream.ts).
   */
  readonly ordered: boolean;
  /**
   * Delivers `event` to the subscribers of every user it concerns (a message:
   * its sender and its recipient, once if they are the same). Call it only
   * after the change is committed, and for messages in id order (see
   * docs/realtime.md). Never throws; costs next to nothing without subscribers.
   */
  publish(event: Exclude<FanOutEvent, RecheckMessages>): void;
  /** Calls `listener` with every event that concerns `userId` until the returned function is called. */
  subscribe(userId: number, listener: FanOutListener): () => void;
}

/** One process: a map from user id to that user's listeners, called synchronously by publish. */
export class LocalFanOut implements FanOut {
  readonly ordered = true;
  readonly #listeners = new Map<number, Set<FanOutListener>>();
  /** Where a listener's exception goes; one failing connection never stops the others. */
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void = () => {}) {
    this.#onError = onError;
  }

  publish(event: FanOutEvent): void {
    if (this.#listeners.size === 0) return;
    if (event.type === 'recheck') {
      for (const userId of [...this.#listeners.keys()]) this.#deliver(userId, event);
    } else if (event.type === 'message') {
      this.#deliver(event.recipientId, event);
      if (event.senderId !== event.recipientId) this.#deliver(event.senderId, event);
    } else {
      this.#deliver(event.userId, event);
    }
  }

  subscribe(userId: number, listener: FanOutListener): () => void {
    let set = this.#listeners.get(userId);
    if (!set) this.#listeners.set(userId, (set = new Set()));
    set.add(listener);
    return () => {
      const current = this.#listeners.get(userId);
      if (!current?.delete(listener) || current.size > 0) return;
      this.#listeners.delete(userId);
    };
  }

  /** Users with at least one subscriber (for tests and metrics). */
  get subscribedUsers(): number {
    return this.#listeners.size;
  }

  #deliver(userId: number, event: FanOutEvent): void {
    const set = this.#listeners.get(userId);
    if (!set) return;
    for (const listener of set) {
      try {
        listener(event);
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}

/** For code paths that publish nowhere (tools, tests that build parts of the domain). */
export const NO_FAN_OUT: FanOut = Object.freeze({
  ordered: true,
  publish() {},
  subscribe() {
    return () => {};
  },
});

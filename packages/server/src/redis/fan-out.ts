/**
 * Fan-out and cache invalidation between instances, over Redis pub/sub
 * (API B 12). Events are delivered to this instance's connections at once
 * (with the view the send built) and published for the others as small
 * JSON that names ids only; the others read what they need from the
 * database. Own messages coming back from Redis are ignored by origin.
 *
 * Not `ordered`: events from two instances can cross on the way, so each
 * connection reads the ids below an event's from the database first
 * (realtime/event-stream.ts). While the link is down, and once when it comes
 * back, every connection re-checks the database every second instead.
 *
 * @example
 * const fanOut = new RedisFanOut(link);
 * fanOut.publish({ type: 'message', id, senderId, recipientId, view });
 */
import { randomUUID } from 'node:crypto';
import { LocalFanOut, type FanOut, type FanOutEvent, type FanOutListener } from '../realtime/fan-out.ts';
import type { CacheChange, Invalidation } from '../store/index.ts';
import type { RedisLink } from './link.ts';

const RECHECK_EVERY_MS = 1_000;

type Wire =
  | { o: string; t: 'message'; id: number; s: number; r: number }
  | { o: string; t: 'key_rotated'; u: number; k: number }
  | { o: string; t: 'sessions_changed'; u: number };

export class RedisFanOut implements FanOut {
  readonly ordered = false;
  readonly #origin = randomUUID();
  readonly #local: LocalFanOut;
  readonly #link: RedisLink;
  readonly #invalidationListeners = new Set<(change: CacheChange) => void>();
  #recheckTimer: NodeJS.Timeout | null = null;

  constructor(link: RedisLink, onError: (error: unknown) => void = () => {}) {
    this.#link = link;
    this.#local = new LocalFanOut(onError);
    link.onMessage((channel, text) => this.#receive(channel, text));
    link.onStatus((status) => (status === 'up' ? this.#linkUp() : this.#linkDown()));
    if (link.status === 'down') this.#linkDown();
  }

  publish(event: Exclude<FanOutEvent, { type: 'recheck' }>): void {
    this.#local.publish(event);
    this.#link.publish(this.#link.names.events, JSON.stringify(this.#toWire(event)));
  }

  subscribe(userId: number, listener: FanOutListener): () => void {
    return this.#local.subscribe(userId, listener);
  }

  /** Invalidation: tells the other instances what this one changed. */
  publishChange(change: CacheChange): void {
    this.#link.publish(this.#link.names.invalidate, JSON.stringify({ o: this.#origin, ...change }));
  }

  /** The Invalidation interface's publish (a separate name: FanOut has one too). */
  get invalidation(): Invalidation {
    return { publish: (change) => this.publishChange(change), subscribe: (listener) => this.subscribeChanges(listener) };
  }

  subscribeChanges(listener: (change: CacheChange) => void): () => void {
    this.#invalidationListeners.add(listener);
    return () => this.#invalidationListeners.delete(listener);
  }

  close(): void {
    if (this.#recheckTimer) clearInterval(this.#recheckTimer);
    this.#recheckTimer = null;
  }

  #toWire(event: Exclude<FanOutEvent, { type: 'recheck' }>): Wire {
    const o = this.#origin;
    if (event.type === 'message') return { o, t: 'message', id: event.id, s: event.senderId, r: event.recipientId };
    if (event.type === 'key_rotated') return { o, t: 'key_rotated', u: event.userId, k: event.keyId };
    return { o, t: 'sessions_changed', u: event.userId };
  }

  #receive(channel: string, text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    if (channel !== this.#link.names.events && channel !== this.#link.names.invalidate) return;
    if (typeof parsed !== 'object' || parsed === null || (parsed as { o?: unknown }).o === this.#origin) return;
    if (channel === this.#link.names.invalidate) {
      const change = parsed as { kind?: unknown; userId?: unknown };
      if (change.kind === 'sessions') this.#changed({ kind: 'sessions' });
      else if (change.kind === 'key' && Number.isSafeInteger(change.userId)) this.#changed({ kind: 'key', userId: change.userId as number });
      return;
    }
    const wire = parsed as Partial<Wire> & Record<string, unknown>;
    const ids = (...values: unknown[]) => values.every((v) => Number.isSafeInteger(v));
    if (wire.t === 'message' && ids(wire.id, wire.s, wire.r)) {
      this.#local.publish({ type: 'message', id: wire.id as number, senderId: wire.s as number, recipientId: wire.r as number });
    } else if (wire.t === 'key_rotated' && ids(wire.u, wire.k)) {
      this.#local.publish({ type: 'key_rotated', userId: wire.u as number, keyId: wire.k as number });
    } else if (wire.t === 'sessions_changed' && ids(wire.u)) {
      this.#local.publish({ type: 'sessions_changed', userId: wire.u as number });
    }
  }

  #changed(change: CacheChange): void {
    for (const listener of this.#invalidationListeners) listener(change);
  }

  #linkDown(): void {
    this.#recheckTimer ??= setInterval(() => this.#local.publish({ type: 'recheck' }), RECHECK_EVERY_MS).unref();
  }

  #linkUp(): void {
    if (this.#recheckTimer) clearInterval(this.#recheckTimer);
    this.#recheckTimer = null;
    // What was published while the link was down is lost: read it from the database once.
    this.#local.publish({ type: 'recheck' });
    // Cached sessions and keys may have changed meanwhile too.
    this.#changed({ kind: 'sessions' });
  }
}

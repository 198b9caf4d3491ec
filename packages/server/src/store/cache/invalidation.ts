/**
 * What one instance tells the others when it changes something they may
 * have cached (store/cache/index.ts). Only needed when instances share a
 * database; a lone instance clears its own caches as it writes.
 *
 * A change is a hint, like a fan-out event: a lost one costs at most the
 * caches' bounded staleness (`maxAgeMs`), never a wrong answer past it.
 *
 * @example
 * invalidation.subscribe((change) => change.kind === 'sessions' && sessions.clear());
 * invalidation.publish({ kind: 'key', userId: 7 });
 */
export type CacheChange =
  /** Some sessions were deleted (logout, revoke, password change, expiry). */
  | { readonly kind: 'sessions' }
  /** The user's current key version changed. */
  | { readonly kind: 'key'; readonly userId: number };

export interface Invalidation {
  /** Tells the other instances; never throws. */
  publish(change: CacheChange): void;
  /** Calls `listener` with every change another instance publishes, until the returned function is called. */
  subscribe(listener: (change: CacheChange) => void): () => void;
}

/** For instances sharing a database without Redis: caches then rely on their maximum age alone. */
export const NO_INVALIDATION: Invalidation = Object.freeze({
  publish() {},
  subscribe() {
    return () => {};
  },
});

/** The policy for caches over a database no other instance writes to. */
export const ALONE = Object.freeze({ kind: 'alone' as const });

export interface SharedCachePolicy {
  readonly kind: 'shared';
  /** The longest an entry is served without re-reading the database, even if every invalidation is lost. */
  readonly maxAgeMs: number;
  readonly invalidation: Invalidation;
}

export type CachePolicy = typeof ALONE | SharedCachePolicy;

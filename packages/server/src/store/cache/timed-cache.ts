/**
 * A bounded map whose entries, optionally, expire `maxAgeMs` after they were
 * read from the database. With `maxAgeMs` null (one instance alone) entries
 * live until they are evicted or invalidated.
 *
 * @example
 * const cache = new TimedCache<string, Row>(10_000, 500);
 * cache.get(key) ?? cache.set(key, await read(key));
 */
import { BoundedMap } from '../../bounded-map.ts';

interface Entry<V> {
  value: V;
  readAt: number;
}

export class TimedCache<K, V> {
  readonly #entries: BoundedMap<K, Entry<V>>;
  readonly #maxAgeMs: number | null;
  /** Lookups answered from memory, and not (metrics). */
  hits = 0;
  misses = 0;

  constructor(limit: number, maxAgeMs: number | null) {
    this.#entries = new BoundedMap(limit);
    this.#maxAgeMs = maxAgeMs;
  }

  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    if (this.#maxAgeMs !== null && performance.now() - entry.readAt > this.#maxAgeMs) {
      this.#entries.delete(key);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry.value;
  }

  /** Remembers `value` as read now; returns it. */
  set(key: K, value: V): V {
    this.#entries.set(key, { value, readAt: performance.now() });
    return value;
  }

  /** Changes a cached value in place, keeping its age; nothing if absent. */
  update(key: K, change: (value: V) => V): void {
    const entry = this.#entries.get(key);
    if (entry) entry.value = change(entry.value);
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}

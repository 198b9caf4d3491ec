/**
 * A Map that holds at most `limit` entries: setting a new key when full
 * drops the oldest-inserted one. The in-memory caches use it so that none can
 * grow without bound.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly #limit: number;

  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override set(key: K, value: V): this {
    if (this.size >= this.#limit && !this.has(key)) this.delete(this.keys().next().value!);
    return super.set(key, value);
  }
}

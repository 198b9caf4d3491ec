/**
 * `openStore(url)`: the adapter the URL's scheme names, behind the
 * repository interfaces of ports.ts, with its schema brought up to date and
 * its caches (cache/) on top: alone on SQLite (one process per file), shared
 * on PostgreSQL (other instances may write; entries expire after
 * SHARED_CACHE_MAX_AGE_MS and `invalidation` clears them sooner).
 * `openAdapter(url)` is the adapter without caches (tools, adapter tests).
 *
 * @example
 * const store = await openStore('sqlite::memory:');
 * await store.users.findByUsername('alice');
 * await store.close();
 */
import { ALONE, NO_INVALIDATION, withCaches, type Invalidation } from './cache/index.ts';
import type { Store } from './ports.ts';
import { openSqliteStore } from './sqlite/index.ts';

/** The longest a cached session or current key version is served on a shared database without reading it again (B 12 promises 1 s). */
export const SHARED_CACHE_MAX_AGE_MS = 500;

export async function openAdapter(databaseUrl: string): Promise<Store> {
  if (databaseUrl.startsWith('sqlite:')) return openSqliteStore(databaseUrl);
  if (/^postgres(?:ql)?:\/\//.test(databaseUrl)) {
    // Loaded only here, so an instance on SQLite never loads pg.
    const { openPostgresStore } = await import('./postgres/index.ts');
    return openPostgresStore(databaseUrl);
  }
  throw new Error('DATABASE_URL must start with sqlite:, postgres:// or postgresql://');
}

export async function openStore(databaseUrl: string, options: { invalidation?: Invalidation } = {}): Promise<Store> {
  const store = await openAdapter(databaseUrl);
  if (store.engine === 'sqlite') return withCaches(store, ALONE);
  return withCaches(store, { kind: 'shared', maxAgeMs: SHARED_CACHE_MAX_AGE_MS, invalidation: options.invalidation ?? NO_INVALIDATION });
}

export { ALONE, NO_INVALIDATION, withCaches, type CacheChange, type CachePolicy, type Invalidation, type SharedCachePolicy } from './cache/index.ts';
export * from './ports.ts';

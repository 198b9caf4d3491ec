/** The user directory: who else is here, and which public key to encrypt for. */
import type { PublicKeyRow, Store } from '../store/ports.ts';
import { NotFound } from './errors.ts';
import { keyVersionView, type KeyVersionView, type PublicKeyView, type UserView } from './views.ts';

export interface DirectoryQuery {
  limit: number;
  offset: number;
  search?: string;
}

function publicKeyView(row: PublicKeyRow): PublicKeyView {
  return {
    user: { id: row.id, username: row.username },
    public_key: row.public_key,
    key_id: row.key_id,
    signing_public_key: row.signing_public_key,
    key_signature: row.key_signature,
  };
}

export class Directory {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Users other than `viewer`, by id; `hasMore` tells whether a next page exists. */
  async list(viewer: UserView, query: DirectoryQuery): Promise<{ users: PublicKeyView[]; hasMore: boolean }> {
    const rows = await this.#store.users.listPublicKeys({ exceptUserId: viewer.id, prefix: query.search, limit: query.limit + 1, offset: query.offset });
    return { users: rows.slice(0, query.limit).map(publicKeyView), hasMore: rows.length > query.limit };
  }

  /** Part B 11: every key version of a user, oldest first, for clients to check the chain themselves. */
  async keyHistoryOf(username: string): Promise<KeyVersionView[]> {
    const user = await this.#store.users.findIdentity(username);
    if (!user) throw new NotFound('User not found.');
    return (await this.#store.users.keyHistory(user.id)).map(keyVersionView);
  }

  async publicKeyOf(username: string): Promise<PublicKeyView> {
    const row = await this.#store.users.publicKeyOf(username);
    if (!row) throw new NotFound('User not found.');
    return publicKeyView(row);
  }
}

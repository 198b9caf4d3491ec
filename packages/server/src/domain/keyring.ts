/**
 * Key versions (Part B1): generation, sealing, rotation, and a cache of parsed
 * public keys. A (user, key_id) pair never changes once written, so a parsed
 * `KeyObject` can be reused by every later send instead of re-parsing PEM.
 */
import type { KeyObject } from 'node:crypto';
import type { Config } from '../config.ts';
import { generateRsaKeyPair, parsePublicKey, sealPrivateKey } from '../crypto/keys.ts';
import type { Store, UserKeyRow } from '../store/index.ts';
import type { NewKeyVersion } from '../store/users.ts';

const MAX_CACHED_KEYS = 10_000;

export class Keyring {
  readonly #store: Store;
  readonly #config: Config;
  readonly #parsed = new Map<string, KeyObject>();

  constructor(store: Store, config: Config) {
    this.#store = store;
    this.#config = config;
  }

  /** A new RSA key pair with its private key sealed under `password`. */
  async newKeyVersion(password: string): Promise<NewKeyVersion> {
    const pair = await generateRsaKeyPair(this.#config.rsaBits);
    const sealed = await sealPrivateKey(pair.privateKey, password, this.#config.kdfIterations);
    return { public_key: pair.publicKey, ...sealed };
  }

  async rotate(userId: number, password: string, now: string): Promise<UserKeyRow> {
    return this.#store.users.addKeyVersion(userId, await this.newKeyVersion(password), now);
  }

  /** The user's current key version with its parsed public key. */
  async currentKey(userId: number): Promise<{ keyId: number; publicKey: KeyObject }> {
    const row = await this.#store.users.currentKey(userId);
    if (!row) throw new Error(`user ${userId} has no key`);
    return { keyId: row.key_id, publicKey: this.#publicKeyObject(row) };
  }

  #publicKeyObject(row: UserKeyRow): KeyObject {
    const cacheKey = `${row.user_id}:${row.key_id}`;
    let key = this.#parsed.get(cacheKey);
    if (!key) {
      if (this.#parsed.size >= MAX_CACHED_KEYS) this.#parsed.clear();
      key = parsePublicKey(row.public_key);
      this.#parsed.set(cacheKey, key);
    }
    return key;
  }
}

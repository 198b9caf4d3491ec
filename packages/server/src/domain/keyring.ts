/**
 * Key versions (Part B1): generation, sealing, rotation, and a cache of parsed
 * public keys. A (user, key_id) pair never changes once written, so a parsed
 * `KeyObject` can be reused by every later send instead of re-parsing PEM.
 */
import type { KeyObject } from 'node:crypto';
import { BoundedMap } from '../bounded-map.ts';
import type { Config } from '../config.ts';
import { generateRsaKeyPair, parsePublicKey, sealPrivateKey } from '../crypto/keys.ts';
import type { Store, UserKeyRow } from '../store/index.ts';
import type { NewKeyVersion } from '../store/users.ts';
import type { ClientKeyPair } from './client-crypto.ts';

const MAX_CACHED_KEYS = 10_000;

export interface CurrentKey {
  keyId: number;
  pem: string;
  publicKey: KeyObject;
  /** RSA modulus length in bytes: the exact size of a key wrapped for it. */
  wrappedKeyBytes: number;
}

export class Keyring {
  readonly #store: Store;
  readonly #config: Config;
  readonly #keysByVersion = new BoundedMap<string, CurrentKey>(MAX_CACHED_KEYS);

  constructor(store: Store, config: Config) {
    this.#store = store;
    this.#config = config;
  }

  /** A new RSA key pair with its private key sealed under `password`. */
  async newKeyVersion(password: string): Promise<NewKeyVersion> {
    const pair = await generateRsaKeyPair(this.#config.rsaBits);
    const sealed = await sealPrivateKey(pair.privateKey, password, this.#config.kdfIterations);
    return { public_key: pair.publicKey, ...sealed, sealed_by: 'server' };
  }

  /** Adds a key version: generated here and sealed under `password`, or made by the client. */
  async rotate(userId: number, source: { password: string } | { clientKey: ClientKeyPair }, now: string): Promise<UserKeyRow> {
    const key: NewKeyVersion = 'clientKey' in source ? { ...source.clientKey, sealed_by: 'client' } : await this.newKeyVersion(source.password);
    return this.#store.users.addKeyVersion(userId, key, now);
  }

  /**
   * The user's current key version with its parsed public key. Only the
   * version number is read each time; the parsed key is cached by version.
   */
  async currentKey(userId: number): Promise<CurrentKey> {
    const keyId = await this.#store.users.currentKeyId(userId);
    if (keyId === undefined) throw new Error(`user ${userId} has no key`);
    const cacheKey = `${userId}:${keyId}`;
    let key = this.#keysByVersion.get(cacheKey);
    if (!key) {
      const pem = await this.#store.users.publicKey(userId, keyId);
      if (pem === undefined) throw new Error(`user ${userId} has no key ${keyId}`);
      const publicKey = parsePublicKey(pem);
      key = { keyId, pem, publicKey, wrappedKeyBytes: (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8 };
      this.#keysByVersion.set(cacheKey, key);
    }
    return key;
  }
}

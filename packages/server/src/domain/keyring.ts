/**
 * Key versions (Part B1): generation, sealing, rotation, and a cache of parsed
 * public keys. A (user, key_id) pair never changes once written, so a parsed
 * `KeyObject` can be reused by every later send instead of re-parsing PEM —
 * and a key found unusable (stored before public keys were checked) stays so.
 */
import type { KeyObject } from 'node:crypto';
import { BoundedMap } from '../bounded-map.ts';
import type { Config } from '../config.ts';
import { canWrapFor } from '../crypto/hybrid.ts';
import { generateRsaKeyPair, parsePublicKey, sealPrivateKey } from '../crypto/keys.ts';
import type { Store, UserKeyRow } from '../store/index.ts';
import type { NewKeyVersion } from '../store/users.ts';
import type { ClientKeyPair } from './client-crypto.ts';
import { Conflict } from './errors.ts';
import { NO_FAN_OUT, type FanOut } from '../realtime/fan-out.ts';

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
  /** null: a stored key that cannot be used for RSA-OAEP */
  readonly #keysByVersion = new BoundedMap<string, CurrentKey | null>(MAX_CACHED_KEYS);
  readonly #fanOut: FanOut;

  constructor(store: Store, config: Config, fanOut: FanOut = NO_FAN_OUT) {
    this.#store = store;
    this.#fanOut = fanOut;
    this.#config = config;
  }

  /** A new RSA key pair with its private key sealed under `password`. */
  async newKeyVersion(password: string): Promise<NewKeyVersion> {
    const pair = await generateRsaKeyPair(this.#config.rsaBits);
    const sealed = await sealPrivateKey(pair.privateKey, password, this.#config.kdfIterations);
    return { public_key: pair.publicKey, ...sealed, sealed_by: 'server' };
  }

  /**
   * Refuses (409) an account that has as many key versions as it may have,
   * before a new one is generated. Each version costs every later password
   * change two PBKDF2 runs, so without a cap rotation could make an account
   * whose password change occupies a heavy-crypto thread for hours.
   */
  async refuseIfFull(userId: number): Promise<void> {
    if (((await this.#store.users.currentKeyId(userId)) ?? 0) >= this.#config.maxKeyVersions) throw this.#full();
  }

  /** Adds a key version: generated here and sealed under `password`, or made by the client. */
  async rotate(userId: number, source: { password: string } | { clientKey: ClientKeyPair }, now: string): Promise<UserKeyRow> {
    await this.refuseIfFull(userId);
    const key: NewKeyVersion = 'clientKey' in source ? { ...source.clientKey, sealed_by: 'client' } : await this.newKeyVersion(source.password);
    // checked again as it is written: two rotations may have raced past the check above
    const row = await this.#store.users.addKeyVersion(userId, key, now, this.#config.maxKeyVersions);
    if (!row) throw this.#full();
    this.#fanOut.publish({ type: 'key_rotated', userId, keyId: row.key_id }); // committed: tell the owner's connections (B 9)
    return row;
  }

  #full(): Conflict {
    const max = this.#config.maxKeyVersions;
    return new Conflict(`This account has reached the limit of ${max} key versions (MAX_KEY_VERSIONS); no further rotation is possible.`);
  }

  /**
   * The user's current key version with its parsed public key, or null when
   * that key cannot be used to wrap a message key. Only the version number is
   * read each time; the parsed key is cached by version.
   */
  async currentKey(userId: number): Promise<CurrentKey | null> {
    const keyId = await this.#store.users.currentKeyId(userId);
    if (keyId === undefined) throw new Error(`user ${userId} has no key`);
    const cacheKey = `${userId}:${keyId}`;
    let key = this.#keysByVersion.get(cacheKey);
    if (key === undefined) {
      const pem = await this.#store.users.publicKey(userId, keyId);
      if (pem === undefined) throw new Error(`user ${userId} has no key ${keyId}`);
      key = usableKey(keyId, pem);
      this.#keysByVersion.set(cacheKey, key);
    }
    return key;
  }
}

/** Parsed, RSA, and a trial wrap works: then every send's wrap works too, on any thread. */
function usableKey(keyId: number, pem: string): CurrentKey | null {
  let publicKey: KeyObject;
  try {
    publicKey = parsePublicKey(pem);
  } catch {
    return null;
  }
  if (publicKey.asymmetricKeyType !== 'rsa' || !canWrapFor(publicKey)) return null;
  return { keyId, pem, publicKey, wrappedKeyBytes: Math.ceil((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8) };
}

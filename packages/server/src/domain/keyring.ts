/**
 * Key versions (Part B1): generation, sealing, rotation, and a cache of parsed
 * public keys. A (user, key_id) pair never changes once written, so a parsed
 * `KeyObject` can be reused by every later send instead of re-parsing PEM —
 * and a key found unusable (stored before public keys were checked) stays so.
 */
import { keyLinkBytes } from '@securechat/protocol';
import type { KeyObject } from 'node:crypto';
import { BoundedMap } from '../bounded-map.ts';
import type { Config } from '../config.ts';
import { ed25519PublicKey, verifyEd25519 } from '../crypto/ed25519.ts';
import { canWrapFor } from '../crypto/hybrid.ts';
import { generateRsaKeyPair, parsePublicKey, sealPrivateKey } from '../crypto/keys.ts';
import type { NewKeyVersion, Store, UserKeyRow } from '../store/ports.ts';
import type { ClientKeyPair } from './client-crypto.ts';
import { Conflict, ValidationError } from './errors.ts';
import type { UserView } from './views.ts';
import { NO_FAN_OUT, type FanOut } from '../realtime/fan-out.ts';

const MAX_CACHED_KEYS = 10_000;

export interface CurrentKey {
  keyId: number;
  pem: string;
  publicKey: KeyObject;
  /** RSA modulus length in bytes: the exact size of a key wrapped for it. */
  wrappedKeyBytes: number;
  /** Part B 11: this version's signing key (base64, as stored), null without one: then its sends are unsigned. */
  signingPublicKey: string | null;
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

  /**
   * Adds a key version: generated here and sealed under `password`, or made
   * by the client. Part B 11: once the current version has a signing key,
   * the new one must bring its own and a key_signature by the current one
   * over the link to key id current + 1 (checked here; 400 otherwise), and is
   * written only as that id (409 if another rotation got there first).
   */
  async rotate(user: UserView, source: { password: string } | { clientKey: ClientKeyPair }, now: string): Promise<UserKeyRow> {
    await this.refuseIfFull(user.id);
    const current = await this.#currentVersion(user.id);
    const expectedKeyId = 'clientKey' in source ? this.#checkLink(user, current, source.clientKey) : this.#serverMadeAllowed(current);
    const key: NewKeyVersion = 'clientKey' in source ? { ...source.clientKey, sealed_by: 'client' } : await this.newKeyVersion(source.password);
    // checked again as it is written: two rotations may have raced past the check above
    const row = await this.#store.users.addKeyVersionAs(user.id, key, now, this.#config.maxKeyVersions, expectedKeyId);
    if (row === 'full') throw this.#full();
    if (row === 'raced') {
      throw new Conflict(`Another rotation made key version ${expectedKeyId} first: fetch your keys (GET /api/keys/) and vouch for the version after it.`);
    }
    this.#fanOut.publish({ type: 'key_rotated', userId: user.id, keyId: row.key_id }); // committed: tell the owner's connections (B 9)
    return row;
  }

  async #currentVersion(userId: number): Promise<{ keyId: number; signingPublicKey: string | null }> {
    const keyId = await this.#store.users.currentKeyId(userId);
    const version = keyId === undefined ? undefined : await this.#store.users.keyVersion(userId, keyId);
    if (!version) throw new Error(`user ${userId} has no current key`);
    return { keyId: version.key_id, signingPublicKey: version.signing_public_key };
  }

  /** A server-made key has no signing key: an account that signs cannot rotate to one (its chain would end). */
  #serverMadeAllowed(current: { signingPublicKey: string | null }): undefined {
    if (current.signingPublicKey !== null) {
      throw ValidationError.field(
        'signing_public_key',
        'Your current key version has a signing key: rotate with a client-made key pair, a new signing_public_key and a key_signature.',
      );
    }
    return undefined;
  }

  /**
   * Part B 11's rule for a client-made key at rotation; returns the key id
   * the new version must get when a key_signature vouches for it.
   */
  #checkLink(user: UserView, current: { keyId: number; signingPublicKey: string | null }, key: ClientKeyPair): number | undefined {
    if (current.signingPublicKey === null) {
      // No chain yet: a signing key may start one (trust on first use), but nothing can have signed for it.
      if (key.key_signature !== null) {
        throw ValidationError.field('key_signature', 'key_signature must be null: your current key version has no signing key to vouch with, so this version starts your chain.');
      }
      return undefined;
    }
    if (key.signing_public_key === null) {
      throw ValidationError.field('signing_public_key', 'Your current key version has a signing key: the new version needs signing_public_key, encrypted_signing_key and signing_key_nonce.');
    }
    const keyId = current.keyId + 1;
    if (key.key_signature === null) {
      throw ValidationError.field('key_signature', `key_signature is required: your key version ${current.keyId}'s signing key must vouch for version ${keyId}.`);
    }
    const bytes = keyLinkBytes({ username: user.username, keyId, publicKeyPem: key.public_key, signingPublicKey: key.signing_public_key });
    if (!verifyEd25519(ed25519PublicKey(current.signingPublicKey), bytes, key.key_signature)) {
      throw ValidationError.field(
        'key_signature',
        `key_signature does not verify: it must be your key version ${current.keyId}'s signature over the link to version ${keyId} (securechat/key/v1, lowercase username, ${keyId}, SPKI, signing_public_key).`,
      );
    }
    return keyId;
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
      const version = await this.#store.users.keyVersion(userId, keyId);
      if (version === undefined) throw new Error(`user ${userId} has no key ${keyId}`);
      key = usableKey(keyId, version.public_key, version.signing_public_key);
      this.#keysByVersion.set(cacheKey, key);
    }
    return key;
  }
}

/** Parsed, RSA, and a trial wrap works: then every send's wrap works too, on any thread. */
function usableKey(keyId: number, pem: string, signingPublicKey: string | null): CurrentKey | null {
  let publicKey: KeyObject;
  try {
    publicKey = parsePublicKey(pem);
  } catch {
    return null;
  }
  if (publicKey.asymmetricKeyType !== 'rsa' || !canWrapFor(publicKey)) return null;
  return { keyId, pem, publicKey, wrappedKeyBytes: Math.ceil((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8), signingPublicKey };
}

/**
 * The user's private keys, in memory only, by key version: the RSA key that
 * unwraps message keys and, since B 11, the Ed25519 key that signs. Unlocked
 * once per login by opening the envelopes with the password (one PBKDF2 run
 * per envelope opens both); never written anywhere. Every CryptoKey here is
 * non-extractable.
 */
import { importPrivateKey, importSigningKey, openEnvelopeKeys, signingPublicKeyOf, type Envelope } from '@securechat/protocol';
import { DecryptionError } from './errors.ts';

/**
 * A signing key held in memory: the non-extractable private key, and its
 * public half (base64 of 32 bytes) — WebCrypto cannot derive the public half
 * from a non-extractable key, so it travels with it. Structured-cloneable:
 * a browser can keep it in IndexedDB (`ClientOptions.signingKeys`).
 */
export interface DeviceSigningKey {
  privateKey: CryptoKey;
  publicKey: string;
}

/** One envelope opened: its RSA key and, when it has a matching one, its signing key. */
export interface OpenedVersion {
  keyId: number;
  privateKey: CryptoKey;
  signing: DeviceSigningKey | null;
}

/**
 * Opens one envelope with the password; rejects on a wrong password. A sealed
 * signing key whose public half is not the envelope's `signing_public_key`
 * is left out (it could not sign anything the server or a contact accepts).
 */
export async function openVersion(envelope: Envelope, password: string): Promise<OpenedVersion> {
  const opened = await openEnvelopeKeys(envelope, password);
  const privateKey = await importPrivateKey(opened.privateKeyPem);
  let signing: DeviceSigningKey | null = null;
  if (opened.signingKey && envelope.signing_public_key) {
    const publicKey = await signingPublicKeyOf(opened.signingKey).catch(() => null);
    if (publicKey === envelope.signing_public_key) signing = { privateKey: await importSigningKey(opened.signingKey), publicKey };
  }
  opened.signingKey?.fill(0);
  return { keyId: envelope.key_id, privateKey, signing };
}

export class Keychain {
  readonly #keys = new Map<number, CryptoKey>();
  readonly #signing = new Map<number, DeviceSigningKey>();

  get unlocked(): boolean {
    return this.#keys.size > 0;
  }

  /**
   * Opens the envelopes; throws `DecryptionError` if the password opens none
   * of them. With `add`, keys already held stay (opening a subset).
   */
  async unlock(envelopes: Envelope[], password: string, { add = false } = {}): Promise<void> {
    const opened = (await Promise.all(envelopes.map((envelope) => openVersion(envelope, password).catch(() => null)))).filter((v) => v !== null);
    if (opened.length === 0) throw new DecryptionError('The password does not open any of your keys.');
    if (!add) this.clear();
    for (const version of opened) this.addVersion(version);
  }

  addVersion(version: OpenedVersion): void {
    this.#keys.set(version.keyId, version.privateKey);
    if (version.signing) this.#signing.set(version.keyId, version.signing);
  }

  add(keyId: number, key: CryptoKey): void {
    this.#keys.set(keyId, key);
  }

  addSigning(keyId: number, key: DeviceSigningKey): void {
    this.#signing.set(keyId, key);
  }

  /** The private key of that version, if the password opened it. */
  find(keyId: number): CryptoKey | undefined {
    return this.#keys.get(keyId);
  }

  /** The signing key of that version, if it has one and it is held. */
  signing(keyId: number): DeviceSigningKey | undefined {
    return this.#signing.get(keyId);
  }

  /** Private keys by version. */
  entries(): [number, CryptoKey][] {
    return [...this.#keys.entries()];
  }

  /** Signing keys by version. */
  signingEntries(): [number, DeviceSigningKey][] {
    return [...this.#signing.entries()];
  }

  /** The public halves of the signing keys held, by version (the user's own keys, for checking their own messages). */
  signingPublicKeys(): Map<number, string> {
    return new Map([...this.#signing].map(([keyId, key]) => [keyId, key.publicKey]));
  }

  clear(): void {
    this.#keys.clear();
    this.#signing.clear();
  }
}

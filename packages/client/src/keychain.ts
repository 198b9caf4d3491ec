/**
 * The user's private keys, in memory only, by key version. Unlocked once per
 * login by opening every envelope with the password; never written anywhere.
 */
import { importPrivateKey, openEnvelope, type Envelope } from '@securechat/protocol';
import { DecryptionError } from './errors.ts';

export class Keychain {
  readonly #keys = new Map<number, CryptoKey>();

  get unlocked(): boolean {
    return this.#keys.size > 0;
  }

  /** Opens every envelope; throws `DecryptionError` if the password opens none of them. */
  async unlock(envelopes: Envelope[], password: string): Promise<void> {
    const opened = await Promise.all(
      envelopes.map(async (envelope) => {
        try {
          return [envelope.key_id, await importPrivateKey(await openEnvelope(envelope, password))] as const;
        } catch {
          return null;
        }
      }),
    );
    const keys = opened.filter((entry) => entry !== null);
    if (keys.length === 0) throw new DecryptionError('The password does not open any of your keys.');
    this.#keys.clear();
    for (const [keyId, key] of keys) this.#keys.set(keyId, key);
  }

  add(keyId: number, key: CryptoKey): void {
    this.#keys.set(keyId, key);
  }

  /** The private key of that version, if the password opened it. */
  find(keyId: number): CryptoKey | undefined {
    return this.#keys.get(keyId);
  }

  /** Private keys by version, for re-sealing them under a new password. */
  entries(): [number, CryptoKey][] {
    return [...this.#keys.entries()];
  }

  clear(): void {
    this.#keys.clear();
  }
}

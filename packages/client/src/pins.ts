/**
 * Pinned contact keys (API.md B 11): the first signing key the client sees
 * for a contact is remembered — trust on first use — and every later key
 * must be vouched for, link by link, by the key chain from it. Where pins
 * live is the application's choice: the SDK keeps them in memory unless it
 * is given a `PinStore` (the CLI keeps them in its profile file, the web
 * client in IndexedDB).
 *
 * A pin holds only public keys and dates: nothing secret.
 *
 * @example
 * // A store backed by anything that keeps JSON, e.g. localStorage:
 * const pins: PinStore = {
 *   get: (username) => JSON.parse(localStorage.getItem(`pin:${username}`) ?? 'null'),
 *   set: (pin) => localStorage.setItem(`pin:${pin.username}`, JSON.stringify(pin)),
 * };
 * const client = new SecureChatClient({ baseUrl, pins });
 */

/** What the client trusts for one contact. */
export interface ContactPin {
  /** The contact's username, lowercased (usernames are unique ignoring ASCII case). */
  username: string;
  /**
   * The contact's pinned signing key (base64 of 32 bytes): their first
   * signing key, pinned on first use, or the key accepted later when the
   * user consented to an unchained change (`acceptNewKey`).
   */
  signingPublicKey: string;
  /** Keys pinned before and replaced by an accepted change, oldest first: messages they signed still verify. */
  previousKeys: string[];
  /** When it was pinned (ISO 8601). */
  pinnedAt: string;
  /**
   * The first signing key whose safety number the user compared and
   * confirmed (`markVerified`), or null. The contact counts as verified only
   * while their chain still starts with this key and reaches their current key.
   */
  verifiedKey: string | null;
  verifiedAt: string | null;
}

/**
 * Where pins are kept. Methods may be synchronous or return promises;
 * `get` answers null (or undefined) for a contact without a pin. Usernames
 * reach the store lowercased.
 */
export interface PinStore {
  get(username: string): ContactPin | null | undefined | Promise<ContactPin | null | undefined>;
  set(pin: ContactPin): void | Promise<void>;
}

/** The default store: pins live as long as the client object. */
export class MemoryPinStore implements PinStore {
  readonly #pins = new Map<string, ContactPin>();

  get(username: string): ContactPin | null {
    const pin = this.#pins.get(username);
    return pin ? structuredClone(pin) : null;
  }

  set(pin: ContactPin): void {
    this.#pins.set(pin.username, structuredClone(pin));
  }

  /** Every pin, for an application that wants to persist or show them. */
  all(): ContactPin[] {
    return [...this.#pins.values()].map((pin) => structuredClone(pin));
  }
}

/** Whether `value` has the shape of a `ContactPin` (for stores that read JSON from disk). */
export function isContactPin(value: unknown): value is ContactPin {
  const pin = value as ContactPin | null;
  return (
    typeof pin === 'object' && pin !== null &&
    typeof pin.username === 'string' && typeof pin.signingPublicKey === 'string' && typeof pin.pinnedAt === 'string' &&
    Array.isArray(pin.previousKeys) && pin.previousKeys.every((k) => typeof k === 'string') &&
    (pin.verifiedKey === null || typeof pin.verifiedKey === 'string') && (pin.verifiedAt === null || typeof pin.verifiedAt === 'string')
  );
}

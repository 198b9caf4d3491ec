/**
 * Where this browser keeps contacts' pinned signing keys (API.md B 11: the
 * first signing key seen for a contact is remembered, and every later key
 * must be vouched for from it). A pin holds public keys and dates only.
 *
 * - A remembered device keeps them in IndexedDB beside its keys, so a key
 *   change is noticed across reloads and restarts (device-store.ts).
 * - A tab that is not remembered keeps them in sessionStorage: across reloads
 *   of the tab (the Unlock screen), gone when the tab closes.
 * - Both are per reader (user id) and cleared by log out. Memory comes first,
 *   so within a page a pin just written is the one read, even if storage
 *   failed (full, disabled): then the pin lasts as long as the page.
 */
import type { ContactPin, PinStore } from '@securechat/client';
import { loadPin, savePin } from './device-store.ts';
import { loadTabPins, saveTabPin } from './tab-storage.ts';

export class BrowserPinStore implements PinStore {
  readonly #memory = new Map<string, ContactPin>();
  /** The signed-in reader's user id (pins are kept per reader), null before login. */
  readonly #reader: () => number | null;
  #onDevice: boolean;

  constructor(reader: () => number | null, options: { onDevice?: boolean } = {}) {
    this.#reader = reader;
    this.#onDevice = options.onDevice === true;
  }

  /** This device is remembered now: pins go to IndexedDB, those made so far too. */
  async keepOnDevice(): Promise<void> {
    this.#onDevice = true;
    const reader = this.#reader();
    if (reader === null) return;
    await Promise.all([...this.#memory.values()].map((pin) => savePin(reader, pin).catch(() => {})));
  }

  async get(username: string): Promise<ContactPin | null> {
    const cached = this.#memory.get(username);
    if (cached) return structuredClone(cached);
    const reader = this.#reader();
    if (reader === null) return null;
    let stored: ContactPin | null = null;
    if (this.#onDevice) stored = await loadPin(reader, username).catch(() => null);
    stored ??= loadTabPins(reader).find((pin) => pin.username === username) ?? null;
    // A pin written meanwhile (by this page) wins over the stored one read before it.
    const now = this.#memory.get(username);
    if (now) return structuredClone(now);
    if (stored) this.#memory.set(username, stored);
    return stored ? structuredClone(stored) : null;
  }

  async set(pin: ContactPin): Promise<void> {
    this.#memory.set(pin.username, structuredClone(pin));
    const reader = this.#reader();
    if (reader === null) return;
    if (this.#onDevice) {
      try {
        await savePin(reader, pin);
        return;
      } catch {
        // IndexedDB refused (full, private mode): keep it for this tab at least.
      }
    }
    saveTabPin(reader, pin);
  }
}

/**
 * "Remember this device": the session token, the user and the private keys
 * kept in IndexedDB so a reload goes straight into the chat. Only
 * non-extractable CryptoKeys are stored (structured clone keeps them
 * non-extractable: no script can read the key material back out); never the
 * password. Contacts' pinned signing keys (B 11, public keys and dates only)
 * live beside them, so a key change is noticed across reloads. Log out
 * deletes the whole database.
 */
import { isContactPin, type ContactPin, type DeviceSigningKey, type Mode, type User } from '@securechat/client';

export interface RememberedDevice {
  mode: Mode;
  token: string;
  user: User;
  keys: Array<[number, CryptoKey]>;
  /** Signing keys (B 11), also non-extractable; absent on devices remembered before them. */
  signingKeys?: Array<[number, DeviceSigningKey]>;
}

const DATABASE = 'securechat';
/** Version 2 added the pins store. */
const VERSION = 2;
const STORE = 'device';
const RECORD = 'current';
/** Pins by `${reader's user id}/${contact's lowercased username}`. */
const PINS = 'pins';

export async function loadRememberedDevice(): Promise<RememberedDevice | null> {
  if (!('indexedDB' in globalThis)) return null;
  const db = await open();
  try {
    const record = await request<unknown>(db.transaction(STORE, 'readonly').objectStore(STORE).get(RECORD));
    return isRememberedDevice(record) ? record : null;
  } finally {
    db.close();
  }
}

/** Refuses extractable keys: those could be read back out of the browser's storage. */
export async function rememberDevice(device: RememberedDevice): Promise<void> {
  if (device.keys.length === 0 || device.keys.some(([, key]) => key.extractable)) {
    throw new Error('These keys cannot be kept safely on this device.');
  }
  const db = await open();
  try {
    const transaction = db.transaction(STORE, 'readwrite');
    transaction.objectStore(STORE).put(device, RECORD);
    await done(transaction);
  } finally {
    db.close();
  }
}

export function forgetDevice(): Promise<void> {
  if (!('indexedDB' in globalThis)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const deletion = indexedDB.deleteDatabase(DATABASE);
    deletion.onsuccess = () => resolve();
    deletion.onerror = () => reject(deletion.error);
    // Another tab still has it open: the deletion completes when that tab lets go.
    deletion.onblocked = () => resolve();
  });
}

/** The pin `reader` keeps for `username`, or null. */
export async function loadPin(reader: number, username: string): Promise<ContactPin | null> {
  if (!('indexedDB' in globalThis)) return null;
  const db = await open();
  try {
    const record = await request<unknown>(db.transaction(PINS, 'readonly').objectStore(PINS).get(pinKey(reader, username)));
    return isContactPin(record) && record.username === username ? record : null;
  } finally {
    db.close();
  }
}

export async function savePin(reader: number, pin: ContactPin): Promise<void> {
  const db = await open();
  try {
    const transaction = db.transaction(PINS, 'readwrite');
    transaction.objectStore(PINS).put(pin, pinKey(reader, pin.username));
    await done(transaction);
  } finally {
    db.close();
  }
}

function pinKey(reader: number, username: string): string {
  return `${reader}/${username}`;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DATABASE, VERSION);
    opening.onupgradeneeded = () => {
      const db = opening.result;
      for (const name of [STORE, PINS]) if (!db.objectStoreNames.contains(name)) db.createObjectStore(name);
    };
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
}

function request<T>(req: IDBRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error);
  });
}

function done(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

function isRememberedDevice(value: unknown): value is RememberedDevice {
  const device = value as RememberedDevice | null;
  return (
    typeof device === 'object' && device !== null &&
    (device.mode === 'e2e' || device.mode === 'server') &&
    typeof device.token === 'string' &&
    typeof device.user?.id === 'number' && typeof device.user?.username === 'string' &&
    Array.isArray(device.keys) && device.keys.length > 0 &&
    device.keys.every((entry) => Array.isArray(entry) && typeof entry[0] === 'number' && entry[1] instanceof CryptoKey)
  );
}

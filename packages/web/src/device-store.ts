/**
 * "Remember this device": the session token, the user and the private keys
 * kept in IndexedDB so a reload goes straight into the chat. Only
 * non-extractable CryptoKeys are stored (structured clone keeps them
 * non-extractable: no script can read the key material back out); never the
 * password. Log out deletes the whole database.
 */
import type { DeviceSigningKey, Mode, User } from '@securechat/client';

export interface RememberedDevice {
  mode: Mode;
  token: string;
  user: User;
  keys: Array<[number, CryptoKey]>;
  /** Signing keys (B 11), also non-extractable; absent on devices remembered before them. */
  signingKeys?: Array<[number, DeviceSigningKey]>;
}

const DATABASE = 'securechat';
const STORE = 'device';
const RECORD = 'current';

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

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DATABASE, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
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
